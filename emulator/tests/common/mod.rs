//! Setup shared by the emulator's raw-HTTP test files.

// Each test file uses some of these.
#![allow(dead_code)]

use autosre_emulator::{Emulator, Options, World};
use serde_json::Value;

/// Serve `world` for the rest of the test process; the emulator (for its
/// journal and controls) and its base URL.
pub(crate) async fn start(world: World, options: Options) -> (Emulator, String) {
    let emu = Emulator::new(world, options);
    let server = emu.serve().await.unwrap();
    let url = server.url();
    std::mem::forget(server);
    (emu, url)
}

/// One request to `url` + `path`, with `body` as JSON if given: the status
/// and the JSON answer (`Null` when the body is not JSON).
pub(crate) async fn call(url: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(m, format!("{url}{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A gzipped tarball of `files`.
pub(crate) fn tarball(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, *data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    gz.finish().unwrap()
}

/// One request that must succeed: the JSON answer, checked to carry no `error`.
pub(crate) async fn ok(url: String, method: &str, path: String, body: Option<Value>) -> Value {
    let (status, v) = call(&url, method, &path, body).await;
    assert!(!v.is_null(), "{path}: {status} and no JSON");
    assert!(v.get("error").is_none(), "{path}: {v}");
    v
}
