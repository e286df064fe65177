//! Cloud Run's regions, checked offline so that `region: mars-north1` fails in `validate`
//! rather than as a 404 from Google after the reads.
//!
//! The list is Cloud Run's published locations, https://cloud.google.com/run/docs/locations
//! (its Tier 1 and Tier 2 tables, checked entry by entry against a stored copy of that page),
//! plus `europe-north2` and `northamerica-south1`, regions Google opened after that copy was
//! taken; `gcloud run regions list` prints the current list. Google adds regions now and then:
//! a region missing here is reported with the list's source, so a newer region is a one-line
//! change below. Accepting a region Google lacks costs one 404 later; refusing one it has
//! would block a deploy, so the list errs on the side of more.

use super::{Check, InvalidValue};

/// Where the list comes from, and when it was taken.
pub(crate) const SOURCE: &str = "https://cloud.google.com/run/docs/locations (2025)";

/// Cloud Run's regions, sorted.
pub(crate) const CLOUD_RUN_REGIONS: &[&str] = &[
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west10",
    "europe-west12",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "northamerica-south1",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
];

/// A well-formed region (see [`super::region`]) that Cloud Run does not serve.
pub(crate) fn cloud_run_region(s: &str) -> Check {
    if CLOUD_RUN_REGIONS.contains(&s) {
        return Ok(());
    }
    let nearest = CLOUD_RUN_REGIONS
        .iter()
        .min_by_key(|r| super::super::suggest::levenshtein(s, r))
        .expect("the list is not empty");
    Err(InvalidValue::new(
        format!("unknown region `{s}`: Cloud Run does not run there"),
        format!(
            "the nearest Cloud Run region by name is `{nearest}`; the regions are listed at {SOURCE} and by `gcloud run regions list`"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_well_formed() {
        let mut sorted = CLOUD_RUN_REGIONS.to_vec();
        sorted.sort();
        assert_eq!(sorted, CLOUD_RUN_REGIONS);
        for r in CLOUD_RUN_REGIONS {
            assert_eq!(super::super::region(r), Ok(()), "{r}");
        }
    }

    #[test]
    fn an_unknown_region_names_the_nearest() {
        assert_eq!(cloud_run_region("us-central1"), Ok(()));
        let e = cloud_run_region("mars-north1").unwrap_err();
        assert_eq!(
            e.message(),
            "unknown region `mars-north1`: Cloud Run does not run there"
        );
        assert!(e.hint().contains("north1`"), "{}", e.hint());
        let e = cloud_run_region("us-centrall1").unwrap_err();
        assert!(
            e.hint()
                .starts_with("the nearest Cloud Run region by name is `us-central1`")
        );
    }
}
