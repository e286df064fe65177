//! Setup shared by the emulator's raw-HTTP test files.

use autosre_emulator::{Emulator, Options, World};
use serde_json::Value;

/// Serve `world` for the rest of the test process; the emulator (for its
/// journal and controls) and its base URL.
pub async fn start(world: World, options: Options) -> (Emulator, String) {
    let emu = Emulator::new(world, options);
    let server = emu.serve().await.unwrap();
    let url = server.url();
    std::mem::forget(server);
    (emu, url)
}

/// One request to `url` + `path`, with `body` as JSON if given: the status
/// and the JSON answer (`Null` when the body is not JSON).
pub async fn call(url: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(m, format!("{url}{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}
