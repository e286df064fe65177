//! What a failed build says: the failing step, the end of its log and the
//! log's URL.

use google_cloud_build_v1::model::{self as cb, build::Status};

use crate::error::Error;
use crate::gcp::Google;

/// How many log lines a failed build shows.
const LOG_TAIL: usize = 20;

/// The failing step, the end of its log (from the logs bucket, where Cloud
/// Build writes `log-BUILD_ID.txt` with `Step #N` prefixes), and the log URL.
pub(super) async fn failure(google: &Google, service: &str, build: &cb::Build) -> Error {
    let failing = build.steps.iter().enumerate().find(|(_, s)| {
        matches!(
            s.status,
            Status::Failure
                | Status::InternalError
                | Status::Timeout
                | Status::Cancelled
                | Status::Expired
        )
    });
    let step = failing.map(|(i, s)| match s.id.is_empty() {
        true => format!("#{i} ({})", s.name),
        false => format!("#{i} {} ({})", s.id, s.name),
    });
    let mut log_tail = Vec::new();
    if let Some((bucket, prefix)) = logs_location(&build.logs_bucket) {
        let object = format!("{prefix}log-{}.txt", build.id);
        if let Ok(Some(bytes)) = google.read_object(&bucket, &object).await {
            let text = String::from_utf8_lossy(&bytes);
            log_tail = tail_of_step(&text, failing.map(|(i, _)| i));
        }
    }
    if log_tail.is_empty() {
        if let Some(info) = &build.failure_info {
            log_tail.push(info.detail.clone());
        } else if !build.status_detail.is_empty() {
            log_tail.push(build.status_detail.clone());
        }
    }
    Error::BuildFailed {
        service: service.to_string(),
        step,
        log_tail,
        log_url: Some(build.log_url.clone()).filter(|u| !u.is_empty()),
    }
}

/// `gs://bucket/some/path` -> (`bucket`, `some/path/`).
fn logs_location(logs_bucket: &str) -> Option<(String, String)> {
    let rest = logs_bucket.strip_prefix("gs://")?;
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = match path.trim_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix))
}

/// The last lines of step `step`'s output (`Step #N` prefixed lines), or of
/// the whole log when the step is unknown or has none.
fn tail_of_step(log: &str, step: Option<usize>) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    let of_step: Vec<&str> = match step {
        Some(i) => {
            let prefix = format!("Step #{i}");
            lines
                .iter()
                .copied()
                .filter(|l| {
                    l.strip_prefix(&prefix)
                        .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_digit()))
                })
                .collect()
        }
        None => Vec::new(),
    };
    let chosen = if of_step.is_empty() { lines } else { of_step };
    let start = chosen.len().saturating_sub(LOG_TAIL);
    chosen[start..].iter().map(|l| l.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_tail_is_the_failing_steps_own_lines() {
        let log = "starting build\nStep #0: ok\nStep #1: compiling\nStep #1: error: boom\nStep #10: other\nDONE\n";
        assert_eq!(
            tail_of_step(log, Some(1)),
            ["Step #1: compiling", "Step #1: error: boom"]
        );
        assert_eq!(tail_of_step(log, Some(7)).len(), 6);
        let long: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let tail = tail_of_step(&long, None);
        assert_eq!(tail.len(), LOG_TAIL);
        assert_eq!(tail.last().map(String::as_str), Some("line 49"));
    }

    #[test]
    fn logs_bucket_urls_split_into_bucket_and_prefix() {
        assert_eq!(
            logs_location("gs://123.cloudbuild-logs.googleusercontent.com"),
            Some((
                "123.cloudbuild-logs.googleusercontent.com".into(),
                String::new()
            ))
        );
        assert_eq!(
            logs_location("gs://b/logs/"),
            Some(("b".into(), "logs/".into()))
        );
        assert_eq!(logs_location("b"), None);
    }
}
