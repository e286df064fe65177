//! Cloud Storage: the official google-cloud-storage `Storage` client (the JSON-over-HTTP one
//! the deploy tool uploads its source archive with) against the emulator, unmodified: both
//! upload protocols it uses (single-shot multipart, resumable), its checksums and
//! preconditions, and downloads; plus the raw bucket routes and the caller's permissions.

use autosre_emulator::{Api, Emulator, Options, World};
use google_cloud_auth::credentials::anonymous::Builder as Anonymous;
use google_cloud_storage::client::Storage;
use serde_json::json;

mod common;
use common::{call, start};

/// `storage.objects.get` (metadata) of `name` (already escaped) in the bucket.
async fn get_object(url: &str, name: &str) -> (u16, serde_json::Value) {
    call(
        url,
        "GET",
        &format!("/storage/v1/b/{BUCKET}/o/{name}"),
        None,
    )
    .await
}

const BUCKET: &str = "run-sources-acme-us-central1";

fn world() -> World {
    World::builder().project("acme", 42).build()
}

async fn client(url: &str) -> Storage {
    Storage::builder()
        .with_endpoint(url)
        .with_credentials(Anonymous::new().build())
        .build()
        .await
        .unwrap()
}

async fn make_bucket(url: &str) {
    let (status, b) = call(
        url,
        "POST",
        "/storage/v1/b?project=acme",
        Some(json!({"name": BUCKET, "location": "us-central1"})),
    )
    .await;
    assert_eq!(status, 200, "{b}");
}

async fn read(client: &Storage, name: &str) -> Vec<u8> {
    let mut reader = client
        .read_object(format!("projects/_/buckets/{BUCKET}"), name)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = reader.next().await.transpose().unwrap() {
        out.extend_from_slice(&chunk);
    }
    out
}

#[tokio::test]
async fn the_official_client_uploads_single_shot_and_downloads() {
    let (emu, url) = start(world(), Options::default()).await;
    make_bucket(&url).await;
    let client = client(&url).await;
    let data = bytes::Bytes::from_static(b"a small source archive");
    let object = client
        .write_object(
            format!("projects/_/buckets/{BUCKET}"),
            "services/api/abc.tgz",
            data.clone(),
        )
        .set_if_generation_match(0)
        .set_content_type("application/gzip")
        .send_buffered()
        .await
        .unwrap();
    assert_eq!(object.size, data.len() as i64);
    assert_eq!(object.name, "services/api/abc.tgz");
    assert!(object.generation > 0);
    assert_eq!(
        object.checksums.unwrap().crc32c,
        Some(crc32c_of(&data)),
        "the client checked the crc32c the emulator computed"
    );
    assert_eq!(read(&client, "services/api/abc.tgz").await, data);
    assert_eq!(
        emu.object(BUCKET, "services/api/abc.tgz").as_deref(),
        Some(&data[..])
    );
    let upload = emu
        .journal()
        .into_iter()
        .find(|e| e.rpc == "storage.objects.insert")
        .unwrap();
    assert_eq!(upload.api, Api::Storage);
    assert!(upload.query.contains("uploadType=multipart"), "{upload:?}");

    // ifGenerationMatch=0 on an existing name: 412, which the client reports as such.
    let err = client
        .write_object(
            format!("projects/_/buckets/{BUCKET}"),
            "services/api/abc.tgz",
            data.clone(),
        )
        .set_if_generation_match(0)
        .send_buffered()
        .await
        .unwrap_err();
    assert_eq!(err.http_status_code(), Some(412), "{err:?}");
    // Metadata over plain HTTP.
    let (status, meta) = get_object(&url, "services%2Fapi%2Fabc.tgz").await;
    assert_eq!(status, 200);
    assert_eq!(meta["size"], "22");
    assert_eq!(meta["contentType"], "application/gzip");
}

#[tokio::test]
async fn the_official_client_uploads_resumably_in_chunks() {
    let (emu, url) = start(world(), Options::default()).await;
    make_bucket(&url).await;
    let client = client(&url).await;
    // 600 KiB over 256 KiB chunks: three PUTs, the first two answered 308.
    let data: Vec<u8> = (0..600 * 1024).map(|i| (i % 251) as u8).collect();
    let object = client
        .write_object(
            format!("projects/_/buckets/{BUCKET}"),
            "big.tgz",
            bytes::Bytes::from(data.clone()),
        )
        .with_resumable_upload_threshold(0_usize)
        .with_resumable_upload_buffer_size(256 * 1024_usize)
        .send_buffered();
    let object = object.await.unwrap();
    assert_eq!(object.size, data.len() as i64);
    assert_eq!(read(&client, "big.tgz").await, data);
    let puts: Vec<u16> = emu
        .journal()
        .iter()
        .filter(|e| e.method == "PUT")
        .map(|e| e.status)
        .collect();
    assert_eq!(puts, [308, 308, 200]);
    // The unbuffered path: one PUT with the precomputed checksum in the metadata.
    let object = client
        .write_object(
            format!("projects/_/buckets/{BUCKET}"),
            "big2.tgz",
            bytes::Bytes::from(data.clone()),
        )
        .with_resumable_upload_threshold(0_usize)
        .send_unbuffered();
    let object = object.await.unwrap();
    assert_eq!(object.size, data.len() as i64);
    assert_eq!(emu.object(BUCKET, "big2.tgz").unwrap(), data);
}

#[tokio::test]
async fn checksums_that_do_not_match_are_refused() {
    let (emu, url) = start(world(), Options::default()).await;
    make_bucket(&url).await;
    let client = client(&url).await;
    let err = client
        .write_object(
            format!("projects/_/buckets/{BUCKET}"),
            "x",
            bytes::Bytes::from_static(b"payload"),
        )
        .with_known_crc32c(7_u32)
        .send_buffered()
        .await
        .unwrap_err();
    assert_eq!(err.http_status_code(), Some(400), "{err:?}");
    assert!(emu.object(BUCKET, "x").is_none());
}

#[tokio::test]
async fn buckets_get_insert_and_errors_in_the_json_api_shape() {
    let (_emu, url) = start(world(), Options::default()).await;
    let (status, e) = call(&url, "GET", &format!("/storage/v1/b/{BUCKET}"), None).await;
    assert_eq!(status, 404);
    assert_eq!(e["error"]["errors"][0]["reason"], "notFound");
    assert!(e["error"].get("status").is_none(), "{e}");
    make_bucket(&url).await;
    let (status, b) = call(&url, "GET", &format!("/storage/v1/b/{BUCKET}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(b["location"], "US-CENTRAL1");
    assert_eq!(b["locationType"], "region");
    assert_eq!(b["projectNumber"], "42");
    let (status, e) = call(
        &url,
        "POST",
        "/storage/v1/b?project=acme",
        Some(json!({"name": BUCKET})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(e["error"]["errors"][0]["reason"], "conflict");
    let (status, e) = call(
        &url,
        "POST",
        "/storage/v1/b?project=acme",
        Some(json!({"name": "Bad_Name"})),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    let (status, _) = get_object(&url, "missing").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn storage_permissions_are_enforced_for_the_caller() {
    let world = World::from_yaml(
        r#"
caller: deployer@acme.iam.gserviceaccount.com
enforceCallerPermissions: true
projects:
  - id: acme
    number: 42
    iam:
      - role: roles/storage.objectCreator
        members: [serviceAccount:deployer@acme.iam.gserviceaccount.com]
"#,
    )
    .unwrap();
    let emu = Emulator::new(world, Options::default());
    let server = emu.serve().await.unwrap();
    let url = server.url();
    let (status, e) = call(
        &url,
        "POST",
        "/storage/v1/b?project=acme",
        Some(json!({"name": BUCKET})),
    )
    .await;
    assert_eq!(status, 403, "{e}");
    assert_eq!(e["error"]["errors"][0]["reason"], "forbidden");
    // Seed the bucket as its owner would, then upload as an object creator: allowed once,
    // refused when it would replace the object (that needs storage.objects.delete).
    emu.with_state(|st| st.create_bucket("acme", BUCKET));
    let client = client(&url).await;
    let write = || {
        client
            .write_object(
                format!("projects/_/buckets/{BUCKET}"),
                "a",
                bytes::Bytes::from_static(b"1"),
            )
            .send_buffered()
    };
    write().await.unwrap();
    let err = write().await.unwrap_err();
    assert_eq!(err.http_status_code(), Some(403), "{err:?}");
    // objectCreator cannot read.
    let (status, _) = get_object(&url, "a").await;
    assert_eq!(status, 403);
    server.shutdown().await;
}

fn crc32c_of(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}
