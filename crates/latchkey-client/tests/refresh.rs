//! The automatic refresh against a scripted HTTP server: one refresh for many concurrent
//! calls, a retry after `invalid_token`, no retry for other errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use latchkey_client::{Client, Error, Secret, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the scripted server has seen and which tokens it accepts.
#[derive(Default)]
struct State {
    valid_access: String,
    valid_refresh: String,
    generation: u32,
    refreshes: u32,
    me_calls: u32,
}

const ACCOUNT: &str = r#"{"id":"acc_1","email":"ada@example.com","username":null,"display_name":null,"custom_data":{},"platform_admin":false,"disabled":false,"created_at":"2024-01-01T00:00:00Z","last_login_at":null}"#;
const TENANT: &str = r#"{"id":"ten_1","domain":"default","title":"Default","metadata":{"tier":null,"modules":[],"links":{},"settings":{}},"password_policy":{"min_length":12,"max_length":128},"created_at":"2024-01-01T00:00:00Z"}"#;

fn problem(status: u16, code: &str) -> (u16, String) {
    (
        status,
        format!(r#"{{"type":"about:blank","title":"{code}","status":{status},"code":"{code}"}}"#),
    )
}

fn handle(
    state: &Mutex<State>,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut st = state.lock().unwrap();
    match (method, path) {
        ("POST", "/api/v1/tenants/default/token/refresh") => {
            st.refreshes += 1;
            let json: serde_json::Value = serde_json::from_str(body).unwrap();
            if json["refresh_token"] != st.valid_refresh.as_str() {
                return problem(401, "invalid_refresh_token");
            }
            st.generation += 1;
            st.valid_access = format!("access-{}", st.generation);
            st.valid_refresh = format!("refresh-{}", st.generation);
            (
                200,
                format!(
                    r#"{{"access_token":"{}","refresh_token":"{}","id_token":"id","token_type":"Bearer","expires_in":900,"account":{ACCOUNT},"tenant":{TENANT}}}"#,
                    st.valid_access, st.valid_refresh
                ),
            )
        }
        ("GET", "/api/v1/me") => {
            st.me_calls += 1;
            if auth != Some(&format!("Bearer {}", st.valid_access)) {
                return problem(401, "invalid_token");
            }
            (
                200,
                format!(
                    r#"{{"account":{ACCOUNT},"membership":{{"tenant":"default","tenant_id":"ten_1","role":"user"}},"permissions":[],"session_id":"ses_1"}}"#
                ),
            )
        }
        ("GET", "/api/v1/tenants") => problem(403, "forbidden"),
        _ => problem(404, "not_found"),
    }
}

async fn serve_one(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_owned();
    let path = request_line.next().unwrap().to_owned();
    let mut auth = None;
    let mut length = 0usize;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => auth = Some(value.trim().to_owned()),
                "content-length" => length = value.trim().parse().unwrap(),
                _ => {}
            }
        }
    }
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[header_end..header_end + length]).to_string();
    // Let concurrent requests pile up, as a real server's latency would.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, body) = handle(&state, &method, &path, auth.as_deref(), &body);
    let content_type = if status < 300 {
        "application/json"
    } else {
        "application/problem+json"
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.unwrap();
    stream.shutdown().await.ok();
}

async fn start(state: Arc<Mutex<State>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(serve_one(stream, state.clone()));
        }
    });
    format!("http://{addr}")
}

fn session(access: &str, refresh: &str, expires_at: i64) -> Session {
    Session {
        tenant: "default".into(),
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        access_expires_at: expires_at,
    }
}

fn far_future() -> i64 {
    i64::from(u32::MAX)
}

async fn concurrent_me(client: &Client, n: usize) {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.me().await })
        })
        .collect();
    for call in calls {
        let me = call.await.unwrap().unwrap();
        assert_eq!(me.account.email, "ada@example.com");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiring_token_is_refreshed_once_for_concurrent_calls() {
    let state = Arc::new(Mutex::new(State {
        valid_access: "access-0".into(),
        valid_refresh: "refresh-0".into(),
        ..State::default()
    }));
    let base = start(state.clone()).await;
    // Expires in 10 s: within the margin, so every call wants a fresh token first.
    let soon = latchkey_client_now() + 10;
    let client = Client::with_session(&base, session("access-0", "refresh-0", soon)).unwrap();
    concurrent_me(&client, 8).await;
    {
        let st = state.lock().unwrap();
        assert_eq!(st.refreshes, 1);
        assert_eq!(st.me_calls, 8);
    }
    let s = client.session().await.unwrap();
    assert_eq!(s.refresh_token.expose(), "refresh-1");
    assert_eq!(s.access_token.expose(), "access-1");
    assert!(s.access_expires_at > soon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejected_token_is_refreshed_once_and_retried() {
    let state = Arc::new(Mutex::new(State {
        valid_access: "access-server-side".into(),
        valid_refresh: "refresh-0".into(),
        ..State::default()
    }));
    let base = start(state.clone()).await;
    // Not expired by the clock, but the server no longer accepts it.
    let client =
        Client::with_session(&base, session("access-stale", "refresh-0", far_future())).unwrap();
    concurrent_me(&client, 6).await;
    let st = state.lock().unwrap();
    assert_eq!(st.refreshes, 1, "one refresh for all the rejected calls");
    assert_eq!(st.me_calls, 12, "each call retried once");
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let state = Arc::new(Mutex::new(State {
        valid_access: "access-0".into(),
        valid_refresh: "refresh-0".into(),
        ..State::default()
    }));
    let base = start(state.clone()).await;
    let client =
        Client::with_session(&base, session("access-0", "refresh-0", far_future())).unwrap();
    let err = client.list_tenants(&Default::default()).await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    assert_eq!(err.status(), Some(403));
    assert_eq!(state.lock().unwrap().refreshes, 0);
}

#[tokio::test]
async fn dead_refresh_token_surfaces_its_error() {
    let state = Arc::new(Mutex::new(State {
        valid_access: "access-0".into(),
        valid_refresh: "refresh-9".into(),
        ..State::default()
    }));
    let base = start(state.clone()).await;
    let client = Client::with_session(&base, session("access-x", "refresh-0", 0)).unwrap();
    let err = client.me().await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_refresh_token"));
    assert!(!format!("{err} {err:?}").contains("refresh-0"));
}

#[tokio::test]
async fn calls_without_a_session_fail_locally() {
    let client = Client::new("http://127.0.0.1:9").unwrap();
    assert!(matches!(client.me().await, Err(Error::NotSignedIn)));
    assert!(matches!(client.sign_out().await, Err(Error::NotSignedIn)));
}

fn latchkey_client_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
