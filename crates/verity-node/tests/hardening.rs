//! The HTTP server and admission under attack, against a real node served on an
//! ephemeral loopback port: each test is an attack that used to work (a request head or
//! body that never arrives, too many connections, requests or event streams, a nonce far
//! ahead, several transactions for one nonce, signatures checked before the sender) and
//! is now refused with a typed error. Timeouts are set in milliseconds through
//! `HttpLimits`, so the tests stay fast.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verity_node::http::{self, HttpLimits};
use verity_node::mempool::NONCE_WINDOW;
use verity_node::{NodeCore, NodeOptions};
use verity_types::keys::SecretKey;
use verity_types::{
    AccountId, Action, AssetId, Genesis, GenesisAccount, GenesisOrg, OrgId, SignedTransaction, Transaction, Transfer,
    Validator,
};

const CHAIN: &str = "hardening-test";

fn key(name: &str) -> SecretKey {
    verity_testkit::secret(name)
}

/// A node with an `admin` account, served with `limits` until dropped.
struct TestNode {
    core: Arc<NodeCore>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl TestNode {
    fn start(limits: HttpLimits) -> TestNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let org = OrgId::new("acme").expect("org");
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: 0,
            orgs: vec![GenesisOrg {
                id: org.clone(),
                name: "Acme".into(),
                admins: vec![GenesisAccount {
                    id: AccountId::new("admin").expect("id"),
                    public_key: key("admin").public_key(),
                }],
            }],
            // Three validators, the node's own holding more than two thirds of the power,
            // so that /v1/validators has more than one page of one.
            validators: vec![
                Validator { org: org.clone(), public_key: key("validator").public_key(), power: 10 },
                Validator { org: org.clone(), public_key: key("validator-2").public_key(), power: 1 },
                Validator { org, public_key: key("validator-3").public_key(), power: 1 },
            ],
            assets: vec![],
            balances: vec![],
            epoch_length: 0,
            governance: None,
        };
        let store = Arc::new(verity_store::Store::open(dir.path()).expect("store"));
        let core = NodeCore::start(store, genesis, key("validator"), NodeOptions::default()).expect("node");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = verity_node::api::router_with(core.clone(), &limits);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            http::serve(listener, app, &limits, async {
                let _ = stopped.await;
            })
            .await
        });
        TestNode { core, addr, stop: Some(stop), rt, _dir: dir }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        s
    }

    /// Sends one request on a new connection and reads the whole answer.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        self.call_as(method, path, "application/json", body)
    }

    fn call_as(&self, method: &str, path: &str, content_type: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        self.call_bytes(method, path, content_type, body.unwrap_or("").as_bytes())
    }

    fn call_bytes(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, serde_json::Value) {
        let mut s = self.connect();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: {content_type}\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        )
        .expect("write");
        s.write_all(body).expect("write body");
        response(&mut s)
    }

    fn submit(&self, tx: &SignedTransaction) -> (u16, serde_json::Value) {
        let body = serde_json::json!({ "tx": hex::encode(tx.to_bytes()) }).to_string();
        self.call("POST", "/v1/txs?wait=none", Some(&body))
    }

    fn submit_batch(&self, txs: &[SignedTransaction]) -> Vec<serde_json::Value> {
        let body =
            serde_json::json!({ "txs": txs.iter().map(|t| hex::encode(t.to_bytes())).collect::<Vec<_>>() }).to_string();
        let (status, v) = self.call("POST", "/v1/txs/batch?wait=none", Some(&body));
        assert_eq!(status, 200, "{v}");
        v["results"].as_array().expect("results").clone()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.core.begin_shutdown();
        self.core.shutdown();
        let _ = &self.rt;
    }
}

/// Reads a response to the end of the connection: status and JSON body (Null if none).
fn response(s: &mut TcpStream) -> (u16, serde_json::Value) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) => panic!("reading the response: {e} after {:?}", String::from_utf8_lossy(&raw)),
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no response head in {text:?}"));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("status in {head:?}"));
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

/// Whether the server closes `s` within `within` (any response bytes before are read).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).expect("timeout");
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn fast(f: impl FnOnce(&mut HttpLimits)) -> HttpLimits {
    let mut l = HttpLimits::default();
    f(&mut l);
    l
}

fn tx(sender: &str, signer: &str, nonce: u64, amount: u128) -> SignedTransaction {
    Transaction {
        chain_id: CHAIN.into(),
        sender: AccountId::new(sender).expect("id"),
        nonce,
        action: Action::Transfer(Transfer {
            to: AccountId::new("admin").expect("id"),
            asset: AssetId::new("credit").expect("id"),
            amount,
            memo: String::new(),
        }),
    }
    .sign(&key(signer))
}

#[test]
fn a_half_sent_request_head_is_closed_within_the_header_timeout() {
    let node = TestNode::start(fast(|l| l.header_read_timeout = Duration::from_millis(300)));
    let mut half = node.connect();
    half.write_all(b"GET /health HTTP/1.1\r\nhost: test\r\nx-slow: ").expect("write");
    let mut silent = node.connect();
    let started = Instant::now();
    assert!(closed_within(&mut half, Duration::from_secs(3)), "a half-sent head stayed open");
    assert!(closed_within(&mut silent, Duration::from_secs(3)), "a connection that sends nothing stayed open");
    assert!(started.elapsed() < Duration::from_secs(3));
    // A whole request is still served.
    let (status, v) = node.call("GET", "/health", None);
    assert_eq!((status, v["status"].as_str()), (200, Some("ok")));
}

#[test]
fn a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes() {
    let node = TestNode::start(fast(|l| l.body_read_timeout = Duration::from_millis(300)));
    let mut s = node.connect();
    s.write_all(b"POST /v1/txs HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"tx\":")
        .expect("write");
    let started = Instant::now();
    let (status, v) = response(&mut s);
    assert_eq!((status, v["code"].as_str()), (408, Some("body_timeout")), "{v}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_declared_body_above_the_limit_is_refused_before_it_is_read() {
    let node = TestNode::start(HttpLimits::default());
    let mut s = node.connect();
    let huge = verity_types::limits::REQUEST_BYTES_MAX + 1;
    write!(
        s,
        "POST /v1/txs/batch HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {huge}\r\n\r\n"
    )
    .expect("write");
    let (status, v) = response(&mut s);
    assert_eq!((status, v["code"].as_str()), (413, Some("payload_too_large")), "{v}");
}

#[test]
fn connections_above_the_limit_are_refused_and_a_freed_slot_is_reused() {
    let node = TestNode::start(fast(|l| l.connections_max = 4));
    let mut held: Vec<TcpStream> = (0..4).map(|_| node.connect()).collect();
    // Let the server accept them all.
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = node.connect();
    let (status, v) = response(&mut extra);
    assert_eq!((status, v["code"].as_str()), (503, Some("too_many_connections")), "{v}");
    // Closing one frees its slot.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = node.call("GET", "/health", None);
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(held);
}

#[test]
fn requests_in_flight_above_the_limit_get_503_overloaded() {
    let node = TestNode::start(fast(|l| {
        l.requests_in_flight_max = 2;
        l.body_read_timeout = Duration::from_secs(10);
    }));
    // Two requests whose bodies never come hold both slots.
    let mut slow: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = node.connect();
            s.write_all(b"POST /v1/txs HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\n").expect("write");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (status, v) = node.call("GET", "/health", None);
    assert_eq!((status, v["code"].as_str()), (503, Some("overloaded")), "{v}");
    slow.clear();
    let deadline = Instant::now() + Duration::from_secs(5);
    while node.call("GET", "/health", None).0 != 200 {
        assert!(Instant::now() < deadline, "slots were never released");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn event_subscribers_above_the_cap_get_503() {
    let node = TestNode::start(fast(|l| l.event_subscribers_max = 2));
    let open = || {
        let mut s = node.connect();
        s.write_all(b"GET /v1/events HTTP/1.1\r\nhost: test\r\n\r\n").expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).expect("read"), 1, "closed before the head");
            head.push(byte[0]);
        }
        (s, String::from_utf8_lossy(&head).to_string())
    };
    let (a, head_a) = open();
    let (_b, head_b) = open();
    assert!(head_a.starts_with("HTTP/1.1 200") && head_b.starts_with("HTTP/1.1 200"), "{head_a} {head_b}");
    let (status, v) = node.call("GET", "/v1/events", None);
    assert_eq!((status, v["code"].as_str()), (503, Some("too_many_subscribers")), "{v}");
    assert_eq!(node.core.events.receiver_count(), 2, "the refused request did not subscribe");
    drop(a);
}

#[test]
fn a_request_longer_than_the_request_timeout_gets_503() {
    let node = TestNode::start(fast(|l| l.request_timeout = Duration::from_millis(300)));
    // Nonce 1 waits for nonce 0, so waiting for its commit outlasts the timeout.
    let body = serde_json::json!({ "tx": hex::encode(tx("admin", "admin", 1, 1).to_bytes()) }).to_string();
    let started = Instant::now();
    let (status, v) = node.call("POST", "/v1/txs?wait=commit", Some(&body));
    assert_eq!((status, v["code"].as_str()), (503, Some("request_timeout")), "{v}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_nonce_beyond_the_window_is_refused_and_one_inside_is_admitted() {
    let node = TestNode::start(HttpLimits::default());
    let (status, v) = node.submit(&tx("admin", "admin", NONCE_WINDOW, 1));
    assert_eq!((status, v["code"].as_str()), (422, Some("nonce_too_far")), "{v}");
    let (status, v) = node.submit(&tx("admin", "admin", NONCE_WINDOW - 1, 1));
    assert_eq!((status, v["status"].as_str()), (202, Some("pending")), "{v}");
    // A whole batch of far-future nonces: only those inside the window get in.
    let far: Vec<SignedTransaction> = (1..=4_096).map(|n| tx("admin", "admin", n, 2)).collect();
    let results = node.submit_batch(&far);
    let admitted = results.iter().filter(|r| r["status"] == "pending").count();
    let too_far = results.iter().filter(|r| r["error"]["code"] == "nonce_too_far").count();
    assert_eq!(too_far, 4_096 - (NONCE_WINDOW as usize - 1));
    assert_eq!(admitted, NONCE_WINDOW as usize - 2, "nonce WINDOW-1 was already pending");
    assert!(node.core.mempool.len() < NONCE_WINDOW as usize);
}

#[test]
fn one_pending_transaction_per_sender_and_nonce() {
    let node = TestNode::start(HttpLimits::default());
    // Fifty different transactions for one (gapped) nonce: one is admitted.
    let same: Vec<SignedTransaction> = (1..=50).map(|amount| tx("admin", "admin", 7, amount)).collect();
    let results = node.submit_batch(&same);
    assert_eq!(results.iter().filter(|r| r["status"] == "pending").count(), 1);
    assert_eq!(results.iter().filter(|r| r["error"]["code"] == "nonce_pending").count(), 49);
    // The same on its own request: 409, not a replacement.
    let (status, v) = node.submit(&tx("admin", "admin", 7, 99));
    assert_eq!((status, v["code"].as_str()), (409, Some("nonce_pending")), "{v}");
    assert_eq!(node.core.mempool.len(), 1);
}

#[test]
fn the_sender_and_its_key_are_checked_before_the_signature() {
    let node = TestNode::start(HttpLimits::default());
    // Signed by the wrong key: the signature verifies against the key it carries, so
    // break it, and check that the cheaper refusal (no such sender, wrong key) wins.
    let mut unknown = tx("mallory", "mallory", 0, 1);
    unknown.signature = verity_types::Signature([7; 64]);
    let (status, v) = node.submit(&unknown);
    assert_eq!((status, v["code"].as_str()), (422, Some("unknown_sender")), "{v}");
    let mut wrong_key = tx("admin", "mallory", 0, 1);
    wrong_key.signature = verity_types::Signature([7; 64]);
    let (status, v) = node.submit(&wrong_key);
    assert_eq!((status, v["code"].as_str()), (422, Some("key_mismatch")), "{v}");
    // With the right sender and key, a bad signature is still refused.
    let mut forged = tx("admin", "admin", 0, 1);
    forged.signature = verity_types::Signature([7; 64]);
    let (status, v) = node.submit(&forged);
    assert_eq!((status, v["code"].as_str()), (422, Some("bad_signature")), "{v}");
    assert!(node.core.mempool.is_empty());
}

#[test]
fn list_endpoints_are_paged_and_refuse_page_sizes_out_of_range() {
    let node = TestNode::start(HttpLimits::default());
    let (status, v) = node.call("GET", "/v1/validators?limit=2", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["count"].as_u64(), v["validators"].as_array().map(Vec::len), v["next"].as_u64()),
        (Some(3), Some(2), Some(2))
    );
    let (_, v) = node.call("GET", "/v1/validators?cursor=2&limit=2", None);
    assert_eq!((v["validators"][0]["index"].as_u64(), v["next"].as_u64()), (Some(2), None));
    let (_, v) = node.call("GET", "/v1/validators", None);
    assert_eq!(v["validators"].as_array().map(Vec::len), Some(3), "the default page holds the whole set");
    for path in [
        "/v1/validators?limit=0",
        "/v1/validators?limit=1001",
        "/v1/audit/releases?limit=0",
        "/v1/audit/releases?limit=5000",
        "/v1/evidence?limit=0",
        "/v1/evidence?limit=1001",
    ] {
        let (status, v) = node.call("GET", path, None);
        assert_eq!((status, v["code"].as_str()), (400, Some("invalid_query")), "{path}: {v}");
    }
    let (status, v) = node.call("GET", "/v1/audit/releases?cursor=10&limit=5", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["total"].as_u64(), v["next"].as_u64()), (Some(0), None));
}

/// The status codes documented for `method` `route` in the served OpenAPI document.
fn documented(doc: &serde_json::Value, method: &str, route: &str) -> Vec<u16> {
    doc["paths"][route][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {route} is not documented"))
        .keys()
        .map(|k| k.parse().expect("numeric status"))
        .collect()
}

#[test]
fn every_status_code_a_request_gets_is_documented_for_its_route() {
    let node = TestNode::start(fast(|l| l.body_read_timeout = Duration::from_millis(300)));
    let (_, doc) = node.call("GET", "/openapi.json", None);
    let hexed = |t: &SignedTransaction| serde_json::json!({ "tx": hex::encode(t.to_bytes()) }).to_string();
    let batch = |ts: &[SignedTransaction]| {
        serde_json::json!({ "txs": ts.iter().map(|t| hex::encode(t.to_bytes())).collect::<Vec<_>>() }).to_string()
    };
    let pending = tx("admin", "admin", 5, 1);
    let too_many: Vec<SignedTransaction> = (0..4_097).map(|n| tx("admin", "admin", 10_000 + n, 1)).collect();
    let json = "application/json";
    // (method, route as documented, request path, content type, body, expected status)
    let cases: Vec<(&str, &str, String, &str, String, u16)> = vec![
        ("post", "/v1/txs", "/v1/txs?wait=none".into(), json, hexed(&pending), 202),
        ("post", "/v1/txs", "/v1/txs?wait=none".into(), json, hexed(&pending), 409),
        ("post", "/v1/txs", "/v1/txs?wait=none".into(), json, hexed(&tx("admin", "admin", 5, 2)), 409),
        ("post", "/v1/txs", "/v1/txs?wait=none".into(), json, hexed(&tx("admin", "admin", NONCE_WINDOW, 1)), 422),
        ("post", "/v1/txs", "/v1/txs?wait=none".into(), json, r#"{"tx":"zz"}"#.into(), 422),
        ("post", "/v1/txs", "/v1/txs?wait=maybe".into(), json, hexed(&pending), 400),
        ("post", "/v1/txs", "/v1/txs".into(), json, "{".into(), 400),
        ("post", "/v1/txs", "/v1/txs".into(), "text/plain", hexed(&pending), 415),
        ("post", "/v1/txs/batch", "/v1/txs/batch?wait=none".into(), json, batch(&[tx("admin", "admin", 6, 1)]), 200),
        ("post", "/v1/txs/batch", "/v1/txs/batch".into(), json, batch(&too_many), 413),
        ("post", "/v1/txs/batch", "/v1/txs/batch?wait=maybe".into(), json, batch(&[]), 400),
        ("post", "/v1/txs/batch", "/v1/txs/batch".into(), "text/plain", batch(&[]), 415),
        ("post", "/v1/datasets/check", "/v1/datasets/check".into(), json, "{}".into(), 400),
        ("post", "/v1/datasets/check", "/v1/datasets/check".into(), "text/plain", "{}".into(), 415),
        ("get", "/v1/evidence", "/v1/evidence?limit=1".into(), json, String::new(), 200),
        ("get", "/v1/evidence", "/v1/evidence?limit=1001".into(), json, String::new(), 400),
        ("get", "/v1/evidence", "/v1/evidence?validator=zz".into(), json, String::new(), 400),
        ("get", "/v1/validators", "/v1/validators?limit=0".into(), json, String::new(), 400),
        ("get", "/v1/audit/releases", "/v1/audit/releases?limit=0".into(), json, String::new(), 400),
        ("get", "/v1/records/{ref}", "/v1/records/model:x@1?flags_limit=0".into(), json, String::new(), 400),
        // A schema violation is 400; a schema-valid request with invalid content is 422.
        ("get", "/v1/validators", "/v1/validators?cursor=9223372036854775808".into(), json, String::new(), 400),
        ("get", "/v1/state/proof", "/v1/state/proof?key=".into(), json, String::new(), 400),
        ("get", "/v1/state/proof", "/v1/state/proof".into(), json, String::new(), 422),
        ("get", "/v1/state/proof", "/v1/state/proof?key=a&key_hex=61".into(), json, String::new(), 422),
        ("get", "/v1/log/consistency", "/v1/log/consistency?old_size=0&new_size=1".into(), json, String::new(), 400),
        ("get", "/v1/log/consistency", "/v1/log/consistency?old_size=2&new_size=1".into(), json, String::new(), 422),
    ];
    for (method, route, path, content_type, body, want) in cases {
        let (status, v) = node.call_as(&method.to_uppercase(), &path, content_type, Some(&body));
        assert_eq!(status, want, "{method} {path}: {v}");
        assert!(documented(&doc, method, route).contains(&status), "{method} {route} answers {status}, undocumented");
    }
    // A body that never arrives: 408 on each route that reads one.
    for route in ["/v1/txs", "/v1/txs/batch", "/v1/datasets/check"] {
        let mut s = node.connect();
        write!(
            s,
            "POST {route} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{{"
        )
        .expect("write");
        let (status, _) = response(&mut s);
        assert_eq!(status, 408);
        assert!(documented(&doc, "post", route).contains(&408), "{route}");
    }
}

#[test]
fn a_binary_batch_gets_the_same_per_item_results_and_bad_bodies_are_refused() {
    let node = TestNode::start(HttpLimits::default());
    let good: Vec<Vec<u8>> = (0..3).map(|n| tx("admin", "admin", n, 1).to_bytes()).collect();
    let mut items = good.clone();
    items.insert(1, vec![1, 2, 3]);
    let body = verity_types::encoding::encode(&items);
    let (status, v) = node.call_bytes("POST", "/v1/txs/batch?wait=none", "application/octet-stream", &body);
    assert_eq!(status, 200, "{v}");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    assert_eq!(results[1]["error"]["code"], "malformed_tx", "{v}");
    assert!([0, 2, 3].iter().all(|&i| results[i]["status"] == "pending"), "{v}");
    // A body that is not a borsh list, a truncated one, and another media type: refused
    // whole, nothing admitted.
    let fresh = tx("admin", "admin", 3, 1);
    let body = verity_types::encoding::encode(&vec![fresh.to_bytes(), tx("admin", "admin", 4, 1).to_bytes()]);
    for (ct, bytes, want) in [
        ("application/octet-stream", vec![0xff, 0xff, 0xff, 0x7f], (422, "invalid_body")),
        ("application/octet-stream", body[..body.len() - 1].to_vec(), (422, "invalid_body")),
        ("text/plain", body.clone(), (415, "unsupported_media_type")),
    ] {
        let (status, v) = node.call_bytes("POST", "/v1/txs/batch?wait=none", ct, &bytes);
        assert_eq!((status, v["code"].as_str().unwrap_or_default()), want, "{ct}: {v}");
    }
    let (status, v) = node.call("GET", &format!("/v1/txs/{}", fresh.hash().to_hex()), None);
    assert_eq!(status, 404, "{v}");
}
