//! End to end: the built `latchkey` binary runs a real server (`latchkey serve`) and
//! administers it through the other commands.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::{BIN, Server};
use serde_json::Value;

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "Quartz-Lantern-7731-Fjord";
const USER_EMAIL: &str = "ada.lovelace@example.com";
const USER_PASSWORD: &str = "Violet-Harbor-5528-Mosaic";

fn start_server() -> Server {
    let data = tempfile::tempdir().unwrap();
    let (mut server, _) = spawn_server(data.path(), Some(ADMIN_PASSWORD));
    server.keep(data);
    server
}

/// Starts `latchkey serve` on `data`; returns it with the stderr lines printed before
/// the address line (the bootstrap messages).
fn spawn_server(data: &Path, admin_password: Option<&str>) -> (Server, Vec<String>) {
    let mut command = common::serve_command(data);
    command.env("LATCHKEY_ADMIN_EMAIL", ADMIN_EMAIL);
    if let Some(password) = admin_password {
        command.env("LATCHKEY_ADMIN_PASSWORD", password);
    }
    common::spawn(command)
}

/// Runs `latchkey ARGS` with a config directory and optional stdin.
fn latchkey(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("LATCHKEY_CONFIG_DIR", config)
        .env_remove("LATCHKEY_SERVER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command that must succeed; returns its stdout.
fn ok(config: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = latchkey(config, args, stdin);
    assert!(
        out.status.success(),
        "latchkey {args:?} failed: {}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

fn ok_json(config: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let stdout = ok(config, &all, stdin);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// Runs a command that must fail with exactly one `error:` line on stderr.
fn fails(config: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = latchkey(config, args, stdin);
    assert!(!out.status.success(), "latchkey {args:?} succeeded");
    assert_eq!(out.status.code(), Some(1), "latchkey {args:?}");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn emails(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

fn login(config: &Path, server: &Server, user: &str, password: &str) -> String {
    ok(
        config,
        &[
            "login",
            "--server",
            &server.url,
            "--tenant",
            "default",
            "--user",
            user,
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    )
}

#[test]
fn administers_a_real_server() {
    let server = start_server();
    let admin_dir = tempfile::tempdir().unwrap();
    let admin = admin_dir.path();
    let session_file = admin.join("session.json");

    // Not logged in yet.
    let err = fails(admin, &["users", "list"], None);
    assert!(err.contains("latchkey login"), "{err}");

    // Log in as the bootstrap administrator; the session file is private.
    let said = login(admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert!(said.contains(ADMIN_EMAIL), "{said}");
    let mode = std::fs::metadata(&session_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&session_file).unwrap()).unwrap();
    assert_eq!(stored["tenant"], "default");
    assert!(
        stored["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let me = ok_json(admin, &["whoami"], None);
    assert_eq!(me["account"]["email"], ADMIN_EMAIL);

    // Create a user with a password from stdin; it is never echoed.
    let created = ok_json(
        admin,
        &[
            "users",
            "create",
            "--email",
            USER_EMAIL,
            "--username",
            "ada",
            "--password-stdin",
        ],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["email"], USER_EMAIL);
    assert!(!created.to_string().contains(USER_PASSWORD));

    // It is listed, filterable, and can be fetched.
    let listed = ok_json(admin, &["users", "list"], None);
    assert!(emails(&listed).contains(&USER_EMAIL.to_owned()), "{listed}");
    let filtered = ok_json(
        admin,
        &["users", "list", "--email", "ada.", "--all", "--limit", "1"],
        None,
    );
    assert_eq!(emails(&filtered), vec![USER_EMAIL.to_owned()]);
    let got = ok_json(admin, &["users", "get", &id], None);
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["username"], "ada");
    let table = ok(admin, &["users", "list"], None);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(USER_EMAIL), "{table}");
    let human = ok(admin, &["users", "get", &id], None);
    assert!(human.contains(USER_EMAIL), "{human}");
    // Nobody signed in since the year 3000 began... so everybody is inactive since then;
    // and nobody was inactive since before the year 2000.
    let inactive = ok_json(
        admin,
        &["users", "list", "--inactive-since", "3000-01-01"],
        None,
    );
    assert!(
        emails(&inactive).contains(&USER_EMAIL.to_owned()),
        "{inactive}"
    );
    let none = ok_json(
        admin,
        &["users", "list", "--inactive-since", "1999-01-01T00:00:00Z"],
        None,
    );
    assert_eq!(emails(&none), Vec::<String>::new());

    // The new user signs in with its own config directory.
    let user_dir = tempfile::tempdir().unwrap();
    login(user_dir.path(), &server, USER_EMAIL, USER_PASSWORD);
    let user_me = ok_json(user_dir.path(), &["whoami"], None);
    assert_eq!(user_me["account"]["id"], id.as_str());

    // Its sessions are visible to the administrator.
    let sessions = ok_json(admin, &["sessions", "list", &id], None);
    assert!(!sessions.as_array().unwrap().is_empty(), "{sessions}");

    // Deleted, it is gone from the list.
    ok(admin, &["users", "delete", &id], None);
    let listed = ok_json(admin, &["users", "list", "--all"], None);
    assert!(
        !emails(&listed).contains(&USER_EMAIL.to_owned()),
        "{listed}"
    );
    let err = fails(admin, &["users", "get", &id], None);
    assert!(err.contains("not_found"), "{err}");

    // A wrong password: exit 1, one line, no password echoed.
    let wrong_dir = tempfile::tempdir().unwrap();
    let out = latchkey(
        wrong_dir.path(),
        &[
            "login",
            "--server",
            &server.url,
            "--user",
            ADMIN_EMAIL,
            "--password-stdin",
        ],
        Some("Not-The-Password-123\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: invalid_credentials"), "{stderr}");
    assert!(!stderr.contains("Not-The-Password-123"));
    assert!(!wrong_dir.path().join("session.json").exists());

    // Tenants.
    let tenant = ok_json(
        admin,
        &["tenants", "create", "acme", "--title", "Acme Corp"],
        None,
    );
    assert_eq!(tenant["domain"], "acme");
    let tenants = ok_json(admin, &["tenants", "list", "--all"], None);
    let domains: Vec<&str> = tenants
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["domain"].as_str().unwrap())
        .collect();
    assert!(
        domains.contains(&"acme") && domains.contains(&"default"),
        "{tenants}"
    );
    let got = ok_json(admin, &["tenants", "get", "acme"], None);
    assert_eq!(got["title"], "Acme Corp");
    let acme_users = ok_json(admin, &["users", "list", "--tenant", "acme"], None);
    assert!(acme_users.is_array());
    ok(admin, &["tenants", "delete", "acme"], None);
    fails(admin, &["tenants", "get", "acme"], None);

    // Audit log and key rotation.
    let events = ok_json(admin, &["audit"], None);
    assert!(!events.as_array().unwrap().is_empty(), "{events}");
    assert!(events[0]["action"].is_string());
    let audit_table = ok(admin, &["audit", "--limit", "2"], None);
    assert!(audit_table.starts_with("AT"), "{audit_table}");
    let key = ok_json(admin, &["keys", "rotate"], None);
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()), "{key}");
    // Tokens issued before the rotation still work.
    ok_json(admin, &["whoami"], None);

    // Nothing ever printed a token or the password.
    let stored_text = std::fs::read_to_string(&session_file).unwrap();
    let stored: Value = serde_json::from_str(&stored_text).unwrap();
    let refresh = stored["refresh_token"].as_str().unwrap().to_owned();
    let everything = ok(admin, &["users", "list"], None) + &ok(admin, &["whoami"], None);
    assert!(!everything.contains(&refresh));
    assert!(!everything.contains(ADMIN_PASSWORD));

    // Logout removes the file; a second logout is harmless.
    ok(admin, &["logout"], None);
    assert!(!session_file.exists());
    let again = ok(admin, &["logout"], None);
    assert!(again.contains("Not logged in"), "{again}");
    fails(admin, &["whoami"], None);
}

#[test]
fn refreshed_tokens_are_written_back() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path();
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let path = config.join("session.json");
    // Make the access token look expired: the next command must refresh first and store
    // the rotated refresh token.
    let mut stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let old_refresh = stored["refresh_token"].as_str().unwrap().to_owned();
    stored["access_expires_at"] = Value::from(0);
    std::fs::write(&path, serde_json::to_vec(&stored).unwrap()).unwrap();
    ok_json(config, &["whoami"], None);
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_ne!(after["refresh_token"].as_str().unwrap(), old_refresh);
    assert!(after["access_expires_at"].as_i64().unwrap() > 0);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // And the stored one keeps working.
    ok_json(config, &["whoami"], None);
}

/// Runs `latchkey ARGS` with a stdout whose reader is already gone, as in
/// `latchkey … | head -0`.
fn latchkey_into_closed_pipe(config: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(BIN)
        .args(args)
        .env("LATCHKEY_CONFIG_DIR", config)
        .env_remove("LATCHKEY_SERVER")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path();
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    for args in [
        &["users", "list"][..],
        &["users", "list", "--json"],
        &["whoami"],
        &["whoami", "--json"],
    ] {
        let out = latchkey_into_closed_pipe(config, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
    // The session survived all that.
    ok_json(config, &["whoami"], None);
}

#[test]
fn concurrent_commands_take_turns_with_the_session() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path();
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let path = config.join("session.json");
    // An expired access token: every command that does not wait for the one before it
    // would refresh with the same refresh token, and all but the first would be refused.
    let mut stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let old_refresh = stored["refresh_token"].as_str().unwrap().to_owned();
    stored["access_expires_at"] = Value::from(0);
    std::fs::write(&path, serde_json::to_vec(&stored).unwrap()).unwrap();
    let children: Vec<Child> = (0..4)
        .map(|i| {
            let args: &[&str] = if i % 2 == 0 {
                &["whoami", "--json"]
            } else {
                &["users", "list", "--json"]
            };
            Command::new(BIN)
                .args(args)
                .env("LATCHKEY_CONFIG_DIR", config)
                .env_remove("LATCHKEY_SERVER")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "");
        let _: Value = serde_json::from_slice(&out.stdout).unwrap();
    }
    // One refresh rotated the token, and the stored session still works.
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_ne!(after["refresh_token"].as_str().unwrap(), old_refresh);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let me = ok_json(config, &["whoami"], None);
    assert_eq!(me["account"]["email"], ADMIN_EMAIL);
    // The lock file stays; nothing else is left behind.
    let mut names: Vec<String> = std::fs::read_dir(config)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["session.json", "session.lock"]);
}

#[test]
fn permissions_of_the_config_dir_and_session_file_are_enforced() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("latchkey");
    std::fs::create_dir(&config).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = latchkey(
        &config,
        &[
            "login",
            "--server",
            &server.url,
            "--user",
            ADMIN_EMAIL,
            "--password-stdin",
        ],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A loopback server: no warning about plain http.
    assert_eq!(text(&out.stderr), "");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&config), 0o700);
    let session = config.join("session.json");
    assert_eq!(mode(&session), 0o600);

    // A session file others may read is refused, and left for the user to judge.
    std::fs::set_permissions(&session, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = fails(&config, &["whoami"], None);
    assert!(err.contains("accessible by other users"), "{err}");
    assert!(err.contains("latchkey login"), "{err}");
    assert_eq!(mode(&session), 0o644);
    std::fs::set_permissions(&session, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A directory loosened later is tightened again by the next command.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o775)).unwrap();
    ok_json(&config, &["whoami"], None);
    assert_eq!(mode(&config), 0o700);
}

#[test]
fn plain_http_to_another_host_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    // 0.0.0.0 is not loopback; nothing listens on port 9, so the request itself fails.
    // Both commands that send a password warn first.
    let server = ["--server", "http://0.0.0.0:9"];
    let login = [&["login"][..], &server, &["--user", "a@example.com"]].concat();
    let signup = [&["signup"][..], &server, &["--email", "a@example.com"]].concat();
    for command in [login, signup] {
        let args = [&command[..], &["--password-stdin"]].concat();
        let out = latchkey(dir.path(), &args, Some("whatever-password\n"));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{stderr}");
        assert!(
            lines[0].starts_with("warning: http://0.0.0.0:9/ ") && lines[0].contains("unencrypted"),
            "{stderr}"
        );
        assert!(lines[1].starts_with("error: transport error"), "{stderr}");
    }
}

#[test]
fn usage_and_input_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // A password must come on stdin.
    let err = fails(
        dir.path(),
        &[
            "login",
            "--server",
            "http://127.0.0.1:9",
            "--user",
            "a@example.com",
        ],
        None,
    );
    assert!(err.contains("--password-stdin"), "{err}");
    // An unreachable server.
    let err = fails(
        dir.path(),
        &[
            "login",
            "--server",
            "http://127.0.0.1:9",
            "--user",
            "a@example.com",
            "--password-stdin",
        ],
        Some("whatever-password\n"),
    );
    assert!(err.contains("transport error"), "{err}");
    // Usage errors: one line too (exit code 2, as usual for usage errors).
    let out = latchkey(dir.path(), &["users", "create"], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("--email"),
        "{stderr}"
    );
}

#[test]
fn first_start_prints_a_generated_password_once_and_sigterm_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let (mut first, lines) = spawn_server(data.path(), None);
    let announced = lines
        .iter()
        .find_map(|l| {
            l.split_once("with the generated password: ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no generated password in {lines:?}"));
    assert!(announced.len() >= 32, "{announced}");
    // The generated password works.
    let config = tempfile::tempdir().unwrap();
    ok(
        config.path(),
        &[
            "login",
            "--server",
            &first.url,
            "--tenant",
            "default",
            "--user",
            ADMIN_EMAIL,
            "--password-stdin",
        ],
        Some(&format!("{announced}\n")),
    );
    // SIGTERM drains and exits 0.
    let status = Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = first.child.wait().unwrap();
    assert!(exit.success(), "serve exited with {exit:?} after SIGTERM");

    // A second start on the same data never prints or changes a password again, even
    // when one is configured now.
    let (_second, lines) = spawn_server(data.path(), Some(ADMIN_PASSWORD));
    assert!(lines.iter().all(|l| !l.contains("password")), "{lines:?}");
    ok(
        config.path(),
        &[
            "login",
            "--server",
            &_second.url,
            "--tenant",
            "default",
            "--user",
            ADMIN_EMAIL,
            "--password-stdin",
        ],
        Some(&format!("{announced}\n")),
    );
}

#[test]
fn invalid_configuration_stops_start_up_with_one_line_naming_the_setting() {
    let data = tempfile::tempdir().unwrap();
    for (args, env, setting) in [
        (vec!["--listen", "nowhere"], None, "listen"),
        (vec!["--log-format", "xml"], None, "log_format"),
        (vec!["--database-url", "mysql://db/x"], None, "database_url"),
        (
            vec![],
            Some(("LATCHKEY_ENCRYPTION_KEY", "c2hvcnQ=")),
            "encryption_key",
        ),
    ] {
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .args(&args)
            .arg("--data-dir")
            .arg(data.path());
        command.env_remove("LATCHKEY_ENCRYPTION_KEY");
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let out = command.stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success(), "{args:?} started");
        let stderr = text(&out.stderr);
        let lines: Vec<_> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: invalid configuration: "),
            "{stderr}"
        );
        assert!(lines[0].contains(setting), "{setting}: {stderr}");
    }
}

/// The `client_secret: …` value of a human-readable `apps create` / `rotate-secret`.
fn secret_field(human: &str) -> String {
    human
        .lines()
        .find_map(|l| l.strip_prefix("client secret:"))
        .unwrap_or_else(|| panic!("no client secret in {human}"))
        .trim()
        .to_owned()
}

fn client_ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["client_id"].as_str().unwrap())
        .collect()
}

#[test]
fn manages_applications() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let admin = dir.path();
    login(admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD);

    // A confidential client: its secret comes once, in the JSON's `client_secret`.
    let created = ok_json(
        admin,
        &[
            "apps",
            "create",
            "--client-id",
            "billing",
            "--grant",
            "authorization_code",
            "--grant",
            "client_credentials",
            "--redirect-uri",
            "https://billing.example.com/cb",
            "--redirect-uri",
            "http://localhost:8080/cb",
            "--role",
            "invoice.viewer",
            "--access-token-lifetime",
            "600",
        ],
        None,
    );
    assert_eq!(created["client_id"], "billing");
    assert_eq!(created["public"], false);
    assert_eq!(created["builtin"], false);
    assert_eq!(
        created["grant_types"],
        serde_json::json!(["authorization_code", "client_credentials"])
    );
    assert_eq!(
        created["redirect_uris"],
        serde_json::json!(["https://billing.example.com/cb", "http://localhost:8080/cb"])
    );
    assert_eq!(created["roles"], serde_json::json!(["invoice.viewer"]));
    assert_eq!(created["access_token_lifetime"], 600);
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "{secret}");

    // Without --json: fields, the secret last, and the reminder to keep it.
    let human = ok(admin, &["apps", "create", "--client-id", "reports"], None);
    assert!(human.starts_with("client id:"), "{human}");
    assert!(human.contains("confidential"), "{human}");
    assert!(
        human.contains("authorization_code, refresh_token, client_credentials"),
        "{human}"
    );
    assert_eq!(secret_field(&human).len(), 43, "{human}");
    assert!(human.contains("not shown again"), "{human}");

    // A public client has no secret, and the public defaults.
    let spa = ok_json(
        admin,
        &["apps", "create", "--client-id", "spa", "--public"],
        None,
    );
    assert_eq!(spa["public"], true);
    assert!(spa.get("client_secret").is_none(), "{spa}");
    assert_eq!(
        spa["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    let human = ok(admin, &["apps", "get", "spa"], None);
    assert!(!human.contains("client secret"), "{human}");

    // Listed by client id, admin-cli included (built in); never with a secret.
    let listed = ok_json(admin, &["apps", "list"], None);
    assert_eq!(
        client_ids(&listed),
        vec!["admin-cli", "billing", "reports", "spa"]
    );
    let admin_cli = &listed[0];
    assert_eq!(admin_cli["builtin"], true);
    assert_eq!(admin_cli["public"], true);
    assert_eq!(
        admin_cli["grant_types"],
        serde_json::json!(["password", "refresh_token"])
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("client_secret").is_none()),
        "{listed}"
    );
    let table = ok(admin, &["apps", "list"], None);
    assert!(table.starts_with("CLIENT ID"), "{table}");
    let admin_row = table
        .lines()
        .find(|l| l.starts_with("admin-cli "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        admin_row.contains("public") && admin_row.contains("yes"),
        "{admin_row}"
    );
    assert!(!table.contains(&secret), "{table}");

    // Read back: no secret.
    let got = ok_json(admin, &["apps", "get", "billing"], None);
    assert_eq!(got["client_id"], "billing");
    assert!(got.get("client_secret").is_none(), "{got}");
    let human = ok(admin, &["apps", "get", "billing"], None);
    assert!(human.contains("600 s"), "{human}");
    assert!(!human.contains(&secret), "{human}");

    // A new secret, different from the first; with --json and without.
    let rotated = ok_json(admin, &["apps", "rotate-secret", "billing"], None);
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(new_secret.len(), 43);
    assert_ne!(new_secret, secret);
    let human = ok(admin, &["apps", "rotate-secret", "billing"], None);
    let third = secret_field(&human);
    assert_ne!(third, new_secret);

    // Refusals: one `error:` line each, exit 1.
    let err = fails(admin, &["apps", "delete", "admin-cli"], None);
    assert!(err.contains("validation_failed"), "{err}");
    assert!(err.contains("built in"), "{err}");
    let err = fails(admin, &["apps", "create", "--client-id", "billing"], None);
    assert!(err.starts_with("error: conflict: "), "{err}");
    let err = fails(
        admin,
        &[
            "apps",
            "create",
            "--client-id",
            "bad",
            "--public",
            "--grant",
            "client_credentials",
        ],
        None,
    );
    assert!(err.contains("validation_failed"), "{err}");
    let err = fails(
        admin,
        &[
            "apps",
            "create",
            "--client-id",
            "bad",
            "--redirect-uri",
            "http://evil.example.com/cb",
        ],
        None,
    );
    assert!(err.contains("validation_failed"), "{err}");
    let err = fails(admin, &["apps", "rotate-secret", "spa"], None);
    assert!(err.contains("validation_failed"), "{err}");
    let err = fails(admin, &["apps", "get", "nope", "--json"], None);
    assert!(err.contains("not_found"), "{err}");

    // Deleted, it is gone.
    let deleted = ok_json(admin, &["apps", "delete", "billing"], None);
    assert_eq!(deleted, serde_json::json!({"deleted": "billing"}));
    let said = ok(admin, &["apps", "delete", "reports"], None);
    assert_eq!(said.trim(), "Deleted application reports.");
    let err = fails(admin, &["apps", "get", "billing"], None);
    assert!(err.contains("not_found"), "{err}");
    let listed = ok_json(admin, &["apps", "list"], None);
    assert_eq!(client_ids(&listed), vec!["admin-cli", "spa"]);

    // --tenant: another tenant has its own admin-cli only.
    ok_json(
        admin,
        &["tenants", "create", "acme", "--title", "Acme Corp"],
        None,
    );
    let acme = ok_json(admin, &["apps", "list", "--tenant", "acme"], None);
    assert_eq!(client_ids(&acme), vec!["admin-cli"]);

    // A plain user may not see the applications.
    ok_json(
        admin,
        &[
            "users",
            "create",
            "--email",
            USER_EMAIL,
            "--role",
            "user",
            "--password-stdin",
        ],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    let user_dir = tempfile::tempdir().unwrap();
    login(user_dir.path(), &server, USER_EMAIL, USER_PASSWORD);
    let err = fails(user_dir.path(), &["apps", "list"], None);
    assert!(err.starts_with("error: forbidden: "), "{err}");

    // Usage errors stay usage errors (exit 2).
    let out = latchkey(admin, &["apps", "create"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--client-id"));
}

#[test]
fn users_import_sends_batches_and_resumes_with_skip() {
    let server = start_server();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path();
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let account = |i: u32| format!("{{\"email\": \"imp{i}@example.com\"}}");
    // Line 2 is blank; line 6 is invalid. Batches of two: lines 1+3, 4+5, 6+7.
    let lines = |sixth: String| {
        [
            account(1),
            String::new(),
            account(2),
            account(3),
            account(4),
            sixth,
            account(6),
        ]
        .join("\n")
    };
    let file = config.join("accounts.ndjson");
    std::fs::write(&file, lines("{\"email\": \"not an email\"}".into())).unwrap();
    let path = file.to_str().unwrap();

    let out = latchkey(
        config,
        &["users", "import", path, "--batch-size", "2"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let stderr: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        stderr[..2],
        ["imported 2 / ?", "imported 4 / ?"],
        "{stderr:?}"
    );
    let error = stderr[2];
    assert!(error.starts_with("error: import stopped at line 6 (line 1 of the batch starting at line 6); 4 users were imported before this batch"), "{error}");
    assert!(error.contains("resume with --skip 5"), "{error}");
    assert!(
        error.contains("validation_failed: line 1: email"),
        "{error}"
    );
    assert!(text(&out.stdout).is_empty());

    // Fixed, resumed from stdin.
    let fixed = lines(account(5));
    let resumed = ok_json(
        config,
        &["users", "import", "-", "--skip", "5", "--batch-size", "2"],
        Some(&fixed),
    );
    assert_eq!(resumed, serde_json::json!({"imported": 2}));
    let listed = ok_json(config, &["users", "list", "--email", "imp"], None);
    assert_eq!(
        emails(&listed),
        (1..=6)
            .map(|i| format!("imp{i}@example.com"))
            .collect::<Vec<_>>()
    );

    // Running it whole again: the first batch is refused, nothing more is written.
    std::fs::write(&file, fixed).unwrap();
    let out = latchkey(config, &["users", "import", path], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("import stopped at line 1 (line 1 of the batch starting at line 1); 0 users were imported"), "{stderr}");
    assert!(
        stderr.contains("conflict: line 1: an account with this email address already exists"),
        "{stderr}"
    );
    let summary = ok(config, &["users", "import", path, "--skip", "7"], None);
    assert_eq!(summary, "Imported 0 users.\n");
}

/// The TOTP code of `secret` (base32) for the time step `offset_steps` away from now.
fn totp_code(secret: &str, offset_steps: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now.saturating_add_signed(offset_steps * 30))
}

#[test]
fn enrols_confirms_and_signs_in_with_a_second_factor() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path();
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(ok_json(config, &["mfa", "status"], None)["totp"], "none");

    let enrolment = ok_json(config, &["mfa", "enroll"], None);
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(
        enrolment["otpauth_uri"]
            .as_str()
            .unwrap()
            .contains(&format!("secret={secret}&"))
    );
    let recovery: Vec<String> = enrolment["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(ok_json(config, &["mfa", "status"], None)["totp"], "pending");

    let said = ok(config, &["mfa", "confirm", &totp_code(&secret, 0)], None);
    assert!(said.contains("active"), "{said}");
    let status = ok_json(config, &["mfa", "status"], None);
    assert_eq!(status["totp"], "active");
    assert_eq!(status["recovery_codes_remaining"], 10);

    // Without a code on stdin, the prompt gets nothing and the login fails.
    let login_args = [
        "login",
        "--server",
        &server.url,
        "--user",
        ADMIN_EMAIL,
        "--password-stdin",
    ];
    let refused = latchkey(config, &login_args, Some(&format!("{ADMIN_PASSWORD}\n")));
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("One-time code"), "{stderr}");
    assert!(stderr.contains("no one-time code on stdin"), "{stderr}");

    // Asked for the code, it reads the next line of stdin. The next step's code is
    // inside the window and later than the confirming one (which is spent).
    let next_code = totp_code(&secret, 1);
    let said = ok(
        config,
        &login_args,
        Some(&format!("{ADMIN_PASSWORD}\n{next_code}\n")),
    );
    assert!(said.contains(ADMIN_EMAIL), "{said}");
    // A recovery code passed as --totp.
    let mut with_flag = login_args.to_vec();
    with_flag.extend(["--totp", &recovery[0]]);
    ok(config, &with_flag, Some(&format!("{ADMIN_PASSWORD}\n")));
    assert_eq!(
        ok_json(config, &["mfa", "status"], None)["recovery_codes_remaining"],
        9
    );

    ok(
        config,
        &["mfa", "disable", "--password-stdin", "--code", &recovery[1]],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    );
    assert_eq!(ok_json(config, &["mfa", "status"], None)["totp"], "none");
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
}

/// Ids are base64url, so about one in 64 starts with `-`: such an id is an argument, not
/// an unknown flag.
#[test]
fn ids_may_start_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["users", "get", "-QqNS08QbPHPhGI7XZ9fwQ"][..],
        &[
            "sessions",
            "revoke",
            "-QqNS08QbPHPhGI7XZ9fwQ",
            "-d1Mxg2zyqklZl0u2n2E",
        ],
        &["mfa", "reset", "-QqNS08QbPHPhGI7XZ9fwQ"],
    ] {
        let err = fails(dir.path(), args, None);
        assert!(err.contains("not logged in"), "{args:?}: {err}");
    }
}

#[test]
fn publishes_and_accepts_terms_and_sets_the_customer_profile() {
    let server = start_server();
    let admin_dir = tempfile::tempdir().unwrap();
    let admin = admin_dir.path();
    login(admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD);

    let tenant = ok_json(
        admin,
        &[
            "tenants",
            "update",
            "default",
            "--tier",
            "STANDARD",
            "--modules",
            "catalog,pipelines",
            "--link",
            "BI=https://bi.example",
            "--link",
            "Docs=https://docs.example",
            "--schedule-limit",
            "HOURLY",
        ],
        None,
    );
    let metadata = &tenant["metadata"];
    assert_eq!(metadata["tier"], "STANDARD");
    assert_eq!(
        metadata["modules"],
        serde_json::json!(["catalog", "pipelines"])
    );
    assert_eq!(
        metadata["links"],
        serde_json::json!([{"name": "BI", "url": "https://bi.example"}, {"name": "Docs", "url": "https://docs.example"}])
    );
    assert_eq!(metadata["schedule_limit"], "HOURLY");
    // Changing one field keeps the others.
    let tenant = ok_json(
        admin,
        &["tenants", "update", "default", "--clear-links"],
        None,
    );
    assert_eq!(tenant["metadata"]["links"], serde_json::json!([]));
    assert_eq!(tenant["metadata"]["tier"], "STANDARD");
    let human = ok(admin, &["tenants", "get", "default"], None);
    assert!(human.contains("HOURLY"), "{human}");
    fails(
        admin,
        &["tenants", "update", "default", "--link", "no-equals-sign"],
        None,
    );

    let published = ok_json(
        admin,
        &[
            "terms",
            "publish",
            "--url",
            "https://acme.example/terms/1",
            "--enforce-date",
            "2024-01-01",
        ],
        None,
    );
    assert_eq!(published["version"], 1);
    let listed = ok_json(admin, &["terms", "list"], None);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let status = ok_json(admin, &["terms", "status"], None);
    assert_eq!(status["status"], "pending");
    let accepted = ok_json(admin, &["terms", "accept", "1"], None);
    assert_eq!(accepted["status"], "accepted");
    let human = ok(admin, &["terms", "status"], None);
    assert!(human.contains("accepted"), "{human}");
    fails(admin, &["terms", "accept", "9"], None);
}

#[test]
fn prunes_dormant_users_and_restores_them() {
    let server = start_server();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path();
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let accounts: String = (1..=5)
        .map(|i| format!("{{\"email\": \"old{i}@example.com\"}}\n"))
        .collect();
    ok(config, &["users", "import", "-"], Some(&accounts));
    // Everyone created before 2100 is dormant, except the caller (a platform admin).
    let listed = ok_json(config, &dormant(&["--dry-run", "--batch-size", "2"]), None);
    let expected: Vec<String> = (1..=5).map(|i| format!("old{i}@example.com")).collect();
    assert_eq!(emails(&listed), expected);
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();

    // Not a terminal and no --yes: refused, nothing removed; a bad date names the rule.
    let refused = fails(config, &dormant(&[]), None);
    assert!(
        refused.contains("refusing to prune 5 users") && refused.contains("--yes"),
        "{refused}"
    );
    let bad = fails(
        config,
        &["users", "prune", "--inactive-since", "2024-13", "--yes"],
        None,
    );
    assert!(bad.contains("no such month"), "{bad}");

    let out = latchkey(
        config,
        &dormant(&["--yes", "--batch-size", "2", "--json"]),
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary,
        serde_json::json!({"pruned": 5, "accounts_removed": 5})
    );
    assert!(
        text(&out.stderr).contains("pruned 5 / 5"),
        "{}",
        text(&out.stderr)
    );
    let left = ok_json(config, &["users", "list"], None);
    assert_eq!(emails(&left), [ADMIN_EMAIL]);
    assert_eq!(
        ok(config, &dormant(&["--yes"]), None),
        "No dormant users to prune.\n"
    );

    // Ids may start with '-': they go after `--`, the options before.
    let mut restore = vec!["users", "restore", "--tenant", "default", "--json", "--"];
    restore.extend(ids[..2].iter().map(String::as_str));
    let restored: Value = serde_json::from_str(&ok(config, &restore, None)).unwrap();
    assert_eq!(restored, serde_json::json!({"restored": 2}));
    let back = ok_json(config, &["users", "list", "--email", "old"], None);
    assert_eq!(emails(&back), expected[..2]);
}

/// `users prune --inactive-since 2100` and `args`.
fn dormant<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["users", "prune", "--inactive-since", "2100"];
    all.extend_from_slice(args);
    all
}

#[test]
fn manages_groups_and_projects() {
    let server = start_server();
    let admin_dir = tempfile::tempdir().unwrap();
    let admin = admin_dir.path();
    login(admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let user = ok_json(
        admin,
        &[
            "users",
            "create",
            "--email",
            USER_EMAIL,
            "--role",
            "user",
            "--password-stdin",
        ],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    let user_id = user["id"].as_str().unwrap();

    let group = ok_json(
        admin,
        &["groups", "create", "Sales", "--member", user_id],
        None,
    );
    let group_id = group["id"].as_str().unwrap();
    assert_eq!(group["members"][0]["id"], user_id);
    fails(admin, &["groups", "create", "Sales"], None);
    let granted = ok_json(admin, &["groups", "grant-roles", group_id, "reader"], None);
    assert_eq!(granted["roles"], serde_json::json!(["reader"]));
    let renamed = ok_json(admin, &["groups", "rename", group_id, "Sales EMEA"], None);
    assert_eq!(renamed["name"], "Sales EMEA");
    let human = ok(admin, &["groups", "list"], None);
    assert!(human.contains("Sales EMEA"), "{human}");
    ok(admin, &["groups", "remove-member", group_id, user_id], None);
    fails(admin, &["groups", "remove-member", group_id, user_id], None);
    ok(admin, &["groups", "add-member", group_id, user_id], None);

    let project = ok_json(
        admin,
        &["projects", "create", "Alpha", "--description", "First"],
        None,
    );
    let project_id = project["id"].as_str().unwrap();
    assert_eq!(project["role"], "admin");
    // The group's whole set of projects, at once.
    let beta = ok_json(
        admin,
        &["projects", "create", "Beta", "--description", "Second"],
        None,
    );
    let beta_id = beta["id"].as_str().unwrap();
    let set = ok_json(
        admin,
        &[
            "groups",
            "set-projects",
            group_id,
            beta_id,
            "--role",
            "admin",
        ],
        None,
    );
    assert_eq!(set["projects"][0]["id"], beta_id, "{set}");
    assert_eq!(set["projects"][0]["role"], "admin", "{set}");
    let unknown = fails(
        admin,
        &["groups", "set-projects", group_id, "AAAAAAAAAAAAAAAAAAAAAA"],
        None,
    );
    assert!(unknown.contains("not_found"), "{unknown}");
    let cleared = ok_json(admin, &["groups", "set-projects", group_id], None);
    assert_eq!(cleared["projects"], serde_json::json!([]), "{cleared}");
    let member = ok_json(
        admin,
        &[
            "projects",
            "add-member",
            project_id,
            "--group",
            group_id,
            "--role",
            "member",
        ],
        None,
    );
    assert_eq!(member["member_type"], "group");
    fails(
        admin,
        &[
            "projects",
            "add-member",
            project_id,
            "--user",
            user_id,
            "--role",
            "owner",
        ],
        None,
    );
    let changed = ok_json(
        admin,
        &["projects", "set-role", project_id, group_id, "reader"],
        None,
    );
    assert_eq!(changed["project_role"], "reader");
    let members = ok_json(admin, &["projects", "members", project_id], None);
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    let human = ok(admin, &["projects", "members", project_id], None);
    assert!(human.contains("Sales EMEA"), "{human}");
    let shown = ok_json(admin, &["groups", "show", group_id], None);
    assert_eq!(shown["projects"][0]["id"], project_id);
    ok(
        admin,
        &["projects", "remove-member", project_id, group_id],
        None,
    );
    let listed = ok_json(admin, &["projects", "list"], None);
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "Alpha and Beta: {listed}"
    );
    ok(admin, &["projects", "delete", project_id], None);
    fails(admin, &["projects", "show", project_id], None);
    ok(admin, &["groups", "delete", group_id], None);
    fails(admin, &["groups", "show", group_id], None);
}

#[test]
fn creates_lists_and_revokes_grants_and_manages_authentications() {
    let server = start_server();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path();
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let me = ok_json(config, &["whoami"], None);
    let id = me["account"]["id"].as_str().unwrap().to_owned();

    let created = ok_json(
        config,
        &[
            "grants",
            "create",
            &id,
            "--client-id",
            "admin-cli",
            "--permissions",
            "items.read.*,projects.read.*",
        ],
        None,
    );
    let grant_id = created["id"].as_str().unwrap().to_owned();
    assert!(
        created["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() > 20)
    );
    assert_eq!(
        created["grant"]["project_permissions"],
        serde_json::json!(["items.read.*", "projects.read.*"])
    );
    let listed = ok(config, &["grants", "list", &id], None);
    assert!(
        listed.contains(&grant_id) && listed.contains("items.read.*"),
        "{listed}"
    );
    let bad = fails(
        config,
        &["grants", "create", &id, "--permissions", "Items"],
        None,
    );
    assert!(bad.contains("project permission"), "{bad}");
    ok(config, &["grants", "revoke", &id, &grant_id], None);
    let listed = ok_json(config, &["grants", "list", &id], None);
    assert_eq!(listed, serde_json::json!([]));

    let set = ok(
        config,
        &[
            "authentications",
            "set",
            &id,
            "salesforce",
            "--service-user",
            "sf-admin",
            "--with-secret",
            "--token-expires",
            "2030-01-01",
        ],
        Some("token-plain-1\nsecret-plain-2\n"),
    );
    assert!(
        set.contains("sf-admin") && !set.contains("token-plain-1"),
        "{set}"
    );
    let shown = ok(
        config,
        &[
            "authentications",
            "show",
            &id,
            "salesforce",
            "--show-secrets",
        ],
        None,
    );
    assert!(
        shown.contains("token-plain-1") && shown.contains("secret-plain-2"),
        "{shown}"
    );
    assert!(shown.contains("2030-01-01 00:00:00Z"), "{shown}");
    let hidden = ok_json(
        config,
        &["authentications", "show", &id, "salesforce"],
        None,
    );
    assert_eq!(hidden["access_token"], "(hidden)");
    ok(
        config,
        &["authentications", "delete", &id, "salesforce"],
        None,
    );
    let gone = fails(
        config,
        &["authentications", "show", &id, "salesforce"],
        None,
    );
    assert!(gone.contains("not found"), "{gone}");
}

#[test]
fn manages_custom_roles_and_impersonates_users() {
    let server = start_server();
    let admin_dir = tempfile::tempdir().unwrap();
    let admin = admin_dir.path();
    login(admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD);

    let role = ok_json(
        admin,
        &[
            "roles",
            "set",
            "crm-sales",
            "--permission",
            "crm:leads.write",
            "--permission",
            "crm:leads.read",
        ],
        None,
    );
    assert_eq!(
        role,
        serde_json::json!({"name": "crm-sales", "permissions": ["crm:leads.read", "crm:leads.write"], "builtin": false})
    );
    let listed = ok_json(admin, &["roles", "list"], None);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "crm-sales", "demo", "reader", "user"]);
    let table = ok(admin, &["roles", "list"], None);
    assert!(table.contains("crm:leads.read, crm:leads.write"), "{table}");
    let refused = fails(admin, &["roles", "set", "admin", "--permission", "x"], None);
    assert!(refused.contains("built-in"), "{refused}");

    let user = ok_json(
        admin,
        &[
            "users",
            "create",
            "--email",
            USER_EMAIL,
            "--role",
            "crm-sales",
        ],
        None,
    );
    assert_eq!(user["role"], "crm-sales");
    let id = user["id"].as_str().unwrap();
    let in_use = fails(admin, &["roles", "delete", "crm-sales"], None);
    assert!(in_use.contains("hold this role"), "{in_use}");

    let minted = ok_json(admin, &["users", "impersonate", id], None);
    assert!(
        minted["token"].as_str().is_some_and(|t| t.len() >= 32),
        "{minted}"
    );
    assert!(minted["expires_at"].is_string(), "{minted}");
    let human = ok(admin, &["users", "impersonate", id], None);
    assert!(
        human.contains("token") && human.contains("expires"),
        "{human}"
    );

    ok(admin, &["users", "update", id, "--role", "user"], None);
    let deleted = ok_json(admin, &["roles", "delete", "crm-sales"], None);
    assert_eq!(deleted, serde_json::json!({"deleted": "crm-sales"}));
}

/// Declares `mod $test { fn sqlite; fn postgres }`, each running `$test(backend)` (the
/// PostgreSQL one skips loudly without `LATCHKEY_TEST_POSTGRES_URL`).
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[test]
                fn sqlite() {
                    super::$test(super::common::Backend::Sqlite);
                }

                #[test]
                fn postgres() {
                    super::$test(super::common::Backend::Postgres);
                }
            }
        )*
    };
}

on_both_backends!(
    signs_up_and_manages_own_workspaces_and_members,
    signup_and_workspace_creation_are_refused_unless_enabled,
);

/// The server on `backend` with the bootstrap administrator and `env`; `None` when the
/// backend is not available.
fn start_server_on(backend: common::Backend, env: &[(&str, &str)]) -> Option<Server> {
    let data = tempfile::tempdir().unwrap();
    let mut command = common::serve_command(data.path());
    command
        .env("LATCHKEY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("LATCHKEY_ADMIN_PASSWORD", ADMIN_PASSWORD);
    for (name, value) in env {
        command.env(name, value);
    }
    let (mut server, _) = common::spawn_on(backend, command)?;
    server.keep(data);
    Some(server)
}

fn login_to(config: &Path, server: &Server, tenant: &str, user: &str, password: &str) {
    ok(
        config,
        &[
            "login",
            "--server",
            &server.url,
            "--tenant",
            tenant,
            "--user",
            user,
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
}

/// The `domain` of each item of a JSON array.
fn domains(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["domain"].as_str().unwrap())
        .collect()
}

/// `signup --server URL --email EMAIL --display-name "Grace Hopper" [--password-stdin]`.
fn signup_args(server: &Server, email: &str, password_stdin: bool) -> Vec<String> {
    let mut args = vec!["signup", "--server", &server.url, "--email", email];
    args.extend(["--display-name", "Grace Hopper"]);
    if password_stdin {
        args.push("--password-stdin");
    }
    args.into_iter().map(str::to_owned).collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

const GRACE_EMAIL: &str = "grace.hopper@example.com";
const GRACE_PASSWORD: &str = "Cobalt-Meadow-9043-Lattice";

fn signs_up_and_manages_own_workspaces_and_members(backend: common::Backend) {
    let Some(server) = start_server_on(backend, &[("LATCHKEY_SIGNUP_ENABLED", "true")]) else {
        return;
    };
    let grace_dir = tempfile::tempdir().unwrap();
    let grace = grace_dir.path();
    let signup = |email: &str, password_stdin: bool| signup_args(&server, email, password_stdin);
    // The password only ever comes from stdin, and must meet the policy.
    let refused = fails(grace, &strs(&signup(GRACE_EMAIL, false)), None);
    assert!(refused.contains("--password-stdin"), "{refused}");
    let weak = fails(grace, &strs(&signup(GRACE_EMAIL, true)), Some("short\n"));
    assert!(weak.contains("weak_password"), "{weak}");

    let mut args = signup(GRACE_EMAIL, true);
    args.push("--json".into());
    let created: Value = serde_json::from_str(&ok(
        grace,
        &strs(&args),
        Some(&format!("{GRACE_PASSWORD}\n")),
    ))
    .unwrap();
    assert!(!created.to_string().contains(GRACE_PASSWORD), "{created}");
    assert!(created["account_id"].is_string(), "{created}");
    assert_eq!(created["tenant"]["title"], "Grace Hopper");
    let home = created["tenant"]["domain"].as_str().unwrap().to_owned();
    // Signing up does not sign in.
    assert!(!grace.join("session.json").exists());
    // The registered email with another password: the generic refusal, which does not
    // say the address is taken. (With its own password it would get a new workspace.)
    let again = fails(
        grace,
        &strs(&signup(GRACE_EMAIL, true)),
        Some("Another-Password-For-Grace-77\n"),
    );
    assert!(again.contains("cannot be used to sign up"), "{again}");
    assert!(
        !again.contains("taken") && !again.contains("exists"),
        "{again}"
    );
    let human = ok(
        grace,
        &strs(&signup("alan.turing@example.com", true)),
        Some("Enigma-Bletchley-1912-Morph\n"),
    );
    assert!(
        human.contains("Sign in with: latchkey login --server ")
            && human.contains("--user alan.turing@example.com"),
        "{human}"
    );

    // The new account administers its new tenant, and only that one.
    login_to(grace, &server, &home, GRACE_EMAIL, GRACE_PASSWORD);
    let mine = ok_json(grace, &["workspaces", "list"], None);
    assert_eq!(
        mine,
        serde_json::json!([{"domain": home, "title": "Grace Hopper", "role": "admin"}])
    );
    let table = ok(grace, &["workspaces", "list"], None);
    assert!(table.starts_with("DOMAIN  "), "{table}");
    assert!(table.contains(&home) && table.contains("admin"), "{table}");

    // A second workspace; its domain comes from its title.
    let second = ok_json(grace, &["workspaces", "create", "Compiler Lab"], None);
    assert_eq!(second["title"], "Compiler Lab");
    let second = second["domain"].as_str().unwrap().to_owned();
    assert_ne!(second, home);
    let mine = ok_json(grace, &["workspaces", "list", "--admin-only"], None);
    let mut expected = vec![home.as_str(), second.as_str()];
    expected.sort_unstable();
    assert_eq!(domains(&mine), expected);

    // The password policy of the session's tenant, of another of one's tenants, and not
    // of a tenant one does not belong to.
    let policy = ok_json(grace, &["tenants", "password-policy"], None);
    assert_eq!(policy["min_length"], 12, "{policy}");
    assert_eq!(policy["rejects_common_passwords"], true, "{policy}");
    assert_eq!(policy["composition_rules"], false, "{policy}");
    let human = ok(grace, &["tenants", "password-policy", &second], None);
    assert!(
        human.contains("tenant:") && human.contains(&second),
        "{human}"
    );
    assert!(
        human.contains("min length:") && human.contains("12"),
        "{human}"
    );
    let outsider = fails(grace, &["tenants", "password-policy", "default"], None);
    assert!(outsider.contains("forbidden"), "{outsider}");

    // Members by email: a new address becomes an invited account; an existing account
    // (the platform administrator) joins with its own account; a repeat changes the role.
    let added = ok_json(
        grace,
        &[
            "users",
            "add",
            "--email",
            "new.hire@example.com",
            "--email",
            ADMIN_EMAIL,
            "--role",
            "user",
        ],
        None,
    );
    assert_eq!(emails(&added), ["new.hire@example.com", ADMIN_EMAIL]);
    assert!(
        added
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["role"] == "user"),
        "{added}"
    );
    let listed = ok_json(grace, &["users", "list"], None);
    assert!(emails(&listed).contains(&"new.hire@example.com".to_owned()));
    let table = ok(
        grace,
        &[
            "users",
            "add",
            "--email",
            "new.hire@example.com",
            "--role",
            "reader",
            "--tenant",
            &home,
        ],
        None,
    );
    assert!(table.starts_with("ID  "), "{table}");
    assert!(table.contains("new.hire@example.com") && table.contains("reader"));
    let unknown = fails(
        grace,
        &[
            "users",
            "add",
            "--email",
            "x@example.com",
            "--role",
            "pilot",
        ],
        None,
    );
    assert!(unknown.contains("role `pilot` does not exist"), "{unknown}");
    let bad_email = fails(
        grace,
        &["users", "add", "--email", "not-an-email", "--role", "user"],
        None,
    );
    assert!(bad_email.contains("validation"), "{bad_email}");

    // The administrator now sees Grace's tenant as a plain member: not with --admin-only.
    let admin_dir = tempfile::tempdir().unwrap();
    let admin = admin_dir.path();
    login(admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let theirs = ok_json(admin, &["workspaces", "list"], None);
    let mut expected = vec!["default", home.as_str()];
    expected.sort_unstable();
    assert_eq!(domains(&theirs), expected);
    let administered = ok_json(admin, &["workspaces", "list", "--admin-only"], None);
    assert_eq!(domains(&administered), ["default"]);

    // Deleting asks first; without a terminal only --yes goes ahead.
    let unconfirmed = fails(grace, &["workspaces", "delete", &second], None);
    assert!(
        unconfirmed.contains(&format!(
            "refusing to delete workspace {second} without confirmation: pass --yes"
        )),
        "{unconfirmed}"
    );
    assert_eq!(
        domains(&ok_json(grace, &["workspaces", "list"], None)).len(),
        2
    );
    let deleted = ok_json(grace, &["workspaces", "delete", &second, "--yes"], None);
    assert_eq!(deleted, serde_json::json!({"deleted": second}));
    assert_eq!(
        domains(&ok_json(grace, &["workspaces", "list"], None)),
        [home.as_str()]
    );
    // The tenant of the session in use cannot be deleted with it.
    let own = fails(grace, &["workspaces", "delete", &home, "--yes"], None);
    assert!(
        own.contains("you cannot delete the tenant you are signed in to"),
        "{own}"
    );
    // Nor can a tenant one does not administer.
    let not_admin = fails(grace, &["workspaces", "delete", "default", "--yes"], None);
    assert!(not_admin.contains("forbidden"), "{not_admin}");
}

fn signup_and_workspace_creation_are_refused_unless_enabled(backend: common::Backend) {
    let Some(server) = start_server_on(backend, &[]) else {
        return;
    };
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path();
    let out = latchkey(
        config,
        &[
            "signup",
            "--server",
            &server.url,
            "--email",
            GRACE_EMAIL,
            "--password-stdin",
        ],
        Some(&format!("{GRACE_PASSWORD}\n")),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: forbidden: signup is disabled on this server; ask an administrator for an account\n"
    );
    assert!(out.stdout.is_empty());

    // Without self-service only platform administrators create workspaces.
    login(config, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    ok(
        config,
        &["users", "create", "--email", USER_EMAIL, "--password-stdin"],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    let created = ok(config, &["workspaces", "create", "Ops Team"], None);
    assert!(
        created.contains("title:") && created.contains("Ops Team"),
        "{created}"
    );
    login(config, &server, USER_EMAIL, USER_PASSWORD);
    let refused = fails(config, &["workspaces", "create", "Side Project"], None);
    assert!(
        refused.contains("forbidden: only platform administrators may create workspaces"),
        "{refused}"
    );
    assert_eq!(
        ok_json(config, &["workspaces", "list"], None),
        serde_json::json!([{"domain": "default", "title": "Default", "role": "user"}])
    );
    // A user may read its tenant's password policy, but not add members.
    let policy = ok_json(config, &["tenants", "password-policy"], None);
    assert_eq!(policy["rejects_account_names"], true, "{policy}");
    let denied = fails(
        config,
        &["users", "add", "--email", "x@example.com", "--role", "user"],
        None,
    );
    assert!(denied.contains("forbidden"), "{denied}");
}

/// In a tenant that requires MFA, `login` of an account without an authenticator enrols
/// one: it shows the secret and recovery codes on stderr, reads the app's first code
/// from the next stdin line (written here once the secret is known) and stores the
/// session.
#[test]
fn login_enrols_an_authenticator_where_the_tenant_requires_one() {
    use std::io::{BufRead as _, BufReader};

    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let admin = &dir.path().join("admin");
    let ada = &dir.path().join("ada");
    std::fs::create_dir(admin).unwrap();
    std::fs::create_dir(ada).unwrap();
    login(admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD);
    let enrolment = ok_json(admin, &["mfa", "enroll"], None);
    let root_secret = enrolment["secret"].as_str().unwrap().to_owned();
    ok(
        admin,
        &["mfa", "confirm", &totp_code(&root_secret, 0)],
        None,
    );
    ok(
        admin,
        &["tenants", "update", "default", "--require-mfa", "true"],
        None,
    );
    ok(
        admin,
        &["users", "create", "--email", USER_EMAIL, "--password-stdin"],
        Some(&format!("{USER_PASSWORD}\n")),
    );

    let mut child = Command::new(BIN)
        .args([
            "login",
            "--server",
            &server.url,
            "--user",
            USER_EMAIL,
            "--password-stdin",
        ])
        .env("LATCHKEY_CONFIG_DIR", ada)
        .env_remove("LATCHKEY_SERVER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{USER_PASSWORD}").unwrap();
    stdin.flush().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut shown = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "login ended before asking for a code: {shown:?}"
        );
        let done = line.starts_with("One-time code");
        shown.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    let secret = shown
        .iter()
        .find_map(|l| l.strip_prefix("secret:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("no secret shown: {shown:?}"));
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("otpauth URI: otpauth://totp/")),
        "{shown:?}"
    );
    let recovery_codes = shown
        .iter()
        .filter(|l| l.starts_with("  ") && l.trim().len() == 19)
        .count();
    assert_eq!(recovery_codes, 10, "{shown:?}");
    writeln!(stdin, "{}", totp_code(&secret, 0)).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(USER_EMAIL), "{said}");
    assert!(
        !said.contains(&secret),
        "the secret stays off stdout: {said}"
    );

    // The stored session is Ada's, and her authenticator is active.
    assert_eq!(
        ok_json(ada, &["whoami"], None)["account"]["email"],
        USER_EMAIL
    );
    assert_eq!(ok_json(ada, &["mfa", "status"], None)["totp"], "active");
    // A wrong first code fails the login with the server's answer, and nothing is stored.
    let other = &dir.path().join("other");
    std::fs::create_dir(other).unwrap();
    ok(
        admin,
        &[
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    let refused = latchkey(
        other,
        &[
            "login",
            "--server",
            &server.url,
            "--user",
            "bob@example.com",
            "--password-stdin",
        ],
        Some(&format!("{USER_PASSWORD}\nnot-a-code\n")),
    );
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("secret:"), "{err}");
    assert!(err.contains("invalid_totp"), "{err}");
    assert!(
        fails(other, &["whoami"], None).contains("login"),
        "not signed in"
    );
}
