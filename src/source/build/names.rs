//! The staging bucket's name, as gcloud makes it.

/// gcloud's staging bucket: `run-sources-PROJECT-REGION`, the project made
/// safe for a bucket name (`:` and `.` to `_`, `google` to `elgoog`), and
/// the region shortened when the name would pass 63 characters
/// (`sources.py`, `_GetDefaultBucketName` and `_GetBucketName`). A region
/// that cannot be shortened keeps its name; Storage then refuses it.
pub(super) fn bucket_name(project: &str, region: &str) -> String {
    /// Bucket names are at most 63 characters (sources.py `_MAX_BUCKET_NAME_LENGTH`).
    const MAX: usize = 63;
    let safe = project.replace([':', '.'], "_").replace("google", "elgoog");
    let name = format!("run-sources-{safe}-{region}");
    match (name.len() > MAX, shorten_region(region)) {
        (true, Some(short)) => format!("run-sources-{safe}-{short}"),
        _ => name,
    }
}

/// gcloud's `command_lib/run/sourcedeploys/region_name_util.py`,
/// `ShortenGcpRegion`: `[prefix-]continent-direction<N>[q]` with each part
/// abbreviated (`northamerica-northeast1` -> `na-ne1`); `None` for a region
/// it does not know.
fn shorten_region(region: &str) -> Option<String> {
    let continent = |c: &str| {
        Some(match c {
            "africa" => "af",
            "asia" => "as",
            "antarctica" => "an",
            "australia" => "au",
            "europe" => "eu",
            "me" => "me",
            "northamerica" => "na",
            "southamerica" => "sa",
            "us" => "us",
            "france" => "fr",
            "germany" => "de",
            _ => return None,
        })
    };
    let direction = |d: &str| {
        Some(match d {
            "north" => "n",
            "south" => "s",
            "east" => "e",
            "west" => "w",
            "northeast" => "ne",
            "southeast" => "se",
            "northwest" => "nw",
            "southwest" => "sw",
            "central" => "c",
            "prp" => "p",
            _ => return None,
        })
    };
    // `([a-z]+-)?([a-z]+)-([a-z]+)(\d{1,2})(q)?`
    let parts: Vec<&str> = region.split('-').collect();
    let (prefix, cont, rest) = match parts.as_slice() {
        [c, r] => ("", *c, *r),
        [p, c, r] => (*p, *c, *r),
        _ => return None,
    };
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let (rest, quarantine) = match rest.strip_suffix('q') {
        Some(r) if r.ends_with(|c: char| c.is_ascii_digit()) => (r, true),
        _ => (rest, false),
    };
    let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (area, num) = rest.split_at(rest.len() - digits);
    if !(1..=2).contains(&digits)
        || !lower(area)
        || !lower(cont)
        || !(prefix.is_empty() || lower(prefix))
    {
        return None;
    }
    let prefix = match (quarantine, prefix) {
        (true, _) => "q-".to_string(),
        (false, "") => String::new(),
        (false, "tpcl") => "t-".to_string(),
        (false, "prp") => "p-".to_string(),
        (false, p) => format!("{p}-"),
    };
    Some(format!(
        "{prefix}{}-{}{num}",
        continent(cont)?,
        direction(area)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gcloud's `_GetBucketName` and `ShortenGcpRegion`: a 30-character
    /// project in `northamerica-northeast1` passes 63 characters and gets
    /// the short region; a short name keeps the region whole.
    #[test]
    fn the_staging_bucket_is_named_as_gcloud_names_it() {
        assert_eq!(
            bucket_name("acme-sre-staging", "us-central1"),
            "run-sources-acme-sre-staging-us-central1"
        );
        let long = "a-thirty-character-project-id0";
        assert_eq!(long.len(), 30);
        let name = bucket_name(long, "northamerica-northeast1");
        assert_eq!(name, format!("run-sources-{long}-na-ne1"));
        assert!(name.len() <= 63);
        assert_eq!(
            bucket_name("example.com:google-sre", "us-east1"),
            "run-sources-example_com_elgoog-sre-us-east1"
        );
        for (region, short) in [
            ("us-central1", Some("us-c1")),
            ("europe-west10", Some("eu-w10")),
            ("asia-southeast2", Some("as-se2")),
            ("me-central2", Some("me-c2")),
            ("us-east1q", Some("q-us-e1")),
            ("prp-us-central1", Some("p-us-c1")),
            ("mars-central1", None),
            ("us-central", None),
            ("us-central123", None),
        ] {
            assert_eq!(shorten_region(region).as_deref(), short, "{region}");
        }
    }
}
