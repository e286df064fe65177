//! `agent:`, the agent's own settings, as `deploy_web.py` took them (`--agent-url`, written to
//! both `SRE_AGENT_URL` and `SRE_AGENT_API_URL`, and `--agent-id`, written to `SRE_AGENT_ID`):
//! validated, then added to the service's plain environment variables. A variable that
//! `agent` sets may not be set in `service.env` or `service.secrets` too: two sources for one
//! value is a question the file must answer, not the tool.

use std::collections::BTreeMap;

use super::super::problems::Problems;
use super::super::raw::{EnvValue, RawAgent, SpannedMap, Text};
use super::super::validate::InvalidValue;
use super::super::yaml::{Pos, join_path};

/// The variables `agent.url` sets.
pub(crate) const URL_VARS: [&str; 2] = ["SRE_AGENT_URL", "SRE_AGENT_API_URL"];
/// The variable `agent.id` sets.
pub(crate) const ID_VAR: &str = "SRE_AGENT_ID";

/// The agent's variables, name -> value; every problem reported.
pub(super) fn resolve_agent(
    p: &mut Problems<'_>,
    raw: Option<&RawAgent>,
    env: Option<&SpannedMap<EnvValue>>,
    secrets: Option<&SpannedMap<Text>>,
) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let Some(raw) = raw else {
        return vars;
    };
    if let Some(url) = &raw.url
        && let Some(url) = p.check_text(url, "agent.url", check_url)
    {
        for var in URL_VARS {
            vars.insert(var.to_string(), url.clone());
        }
    }
    if let Some(id) = &raw.id
        && let Some(id) = p.check_text(id, "agent.id", check_id)
    {
        vars.insert(ID_VAR.to_string(), id);
    }
    let set = |var: &str| match var {
        v if URL_VARS.contains(&v) => raw.url.is_some().then_some("agent.url"),
        ID_VAR => raw.id.is_some().then_some("agent.id"),
        _ => None,
    };
    let names = env
        .map(|m| {
            m.0.iter()
                .map(|(n, _)| (n, "service.env"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(
            secrets
                .map(|m| {
                    m.0.iter()
                        .map(|(n, _)| (n, "service.secrets"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        );
    for (name, map) in names {
        if let Some(by) = set(&name.value) {
            p.report(
                Pos::of(name),
                join_path(map, &name.value),
                InvalidValue::new(
                    format!("`{}` is set by `{by}` too", name.value),
                    format!(
                        "keep one: delete `{}` from `{map}`, or remove `{by}`",
                        name.value
                    ),
                ),
            );
        }
    }
    vars
}

/// https, or http on the loopback host (a local agent during development).
fn check_url(text: &str) -> Result<String, InvalidValue> {
    let bad = |why: &str| {
        InvalidValue::new(
            format!("agent.url `{text}` {why}"),
            "write the agent's https URL, e.g. `https://sre-agent.example.com`; http is \
             accepted only for localhost, 127.0.0.1 or [::1]",
        )
    };
    if text.chars().any(char::is_whitespace) {
        return Err(bad("contains whitespace"));
    }
    let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("is not a URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")),
        None => host_port.split(':').next().map(str::to_string),
    }
    .unwrap_or_default();
    if host.is_empty() || host == "[]" {
        return Err(bad("has no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(text.to_string()),
        "http"
            if matches!(
                host.to_ascii_lowercase().as_str(),
                "localhost" | "127.0.0.1" | "[::1]"
            ) =>
        {
            Ok(text.to_string())
        }
        "http" => Err(bad(
            "must use https (http only for localhost, 127.0.0.1 or [::1])",
        )),
        _ => Err(bad("must use https")),
    }
}

fn check_id(text: &str) -> Result<String, InvalidValue> {
    if text.trim().is_empty() {
        return Err(InvalidValue::new(
            "agent.id is empty",
            "write the agent's id, or remove `agent.id`",
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls_are_https_unless_on_the_loopback_host() {
        for ok in [
            "https://agent.example.com",
            "https://agent.example.com:8443/api",
            "http://localhost:8080",
            "http://127.0.0.1/",
            "http://[::1]:8000/x",
            "HTTP://LOCALHOST",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://agent.example.com",
            "http://localhost.example.com",
            "http://127.0.0.2",
            "ftp://agent.example.com",
            "agent.example.com",
            "https://",
            "https://a b",
            "http://user@evil.example.com",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
