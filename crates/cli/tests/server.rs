//! Operating `secondstory serve` as a process: readiness, health, metrics, request ids, JSON logs,
//! graceful shutdown on SIGTERM, `--demo`, and several instances on one PostgreSQL behaving as
//! one (reads, sessions, optimistic concurrency, sign-in rate limits).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// A free port on the loopback: bind to port 0, note it, let it go.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn secondstory(database: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_secondstory"));
    command
        .env("SECONDSTORY_DATABASE_URL", database)
        .env("SECONDSTORY_AUTHOR", "tester")
        .env_remove("SECONDSTORY_CONFIG")
        .env_remove("SECONDSTORY_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs a CLI command to completion and returns its stdout; panics on failure.
fn cli(database: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut command = secondstory(database);
    command.args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = command.output().expect("run secondstory");
    assert!(
        out.status.success(),
        "secondstory {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running `secondstory serve`, killed when dropped if it is still running.
struct Instance {
    child: Child,
    base: String,
    stdout: PathBuf,
    stderr: PathBuf,
    /// From spawning the process to the first 200 on /healthz.
    ready_after: Duration,
}

impl Instance {
    async fn start(database: &str, dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Instance {
        let port = free_port();
        let tag = format!("serve-{port}");
        let stdout = dir.join(format!("{tag}.out"));
        let stderr = dir.join(format!("{tag}.err"));
        let mut command = secondstory(database);
        command
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        for (k, v) in envs {
            command.env(k, v);
        }
        let started = Instant::now();
        let child = command.spawn().expect("spawn secondstory serve");
        let mut instance = Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr,
            ready_after: Duration::ZERO,
        };
        let client = client();
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!(
                    "secondstory serve exited early ({status}):\n{}",
                    instance.stderr_text()
                );
            }
            if let Ok(response) = client
                .get(format!("{}/healthz", instance.base))
                .send()
                .await
                && response.status() == 200
            {
                instance.ready_after = started.elapsed();
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not ready within 60 s:\n{}",
                instance.stderr_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        instance
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn stdout_text(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit by itself and returns its exit code.
    async fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "did not exit within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("HTTP client")
}

/// An admin account and a write API token for it, made with the CLI as an operator would.
fn admin_token(database: &str) -> String {
    cli(
        database,
        &["user", "add", "alice", "--role", "admin"],
        &[("SECONDSTORY_PASSWORD", PASSWORD)],
    );
    let out = cli(
        database,
        &[
            "token", "create", "alice", "--name", "test", "--scope", "write",
        ],
        &[],
    );
    out.lines()
        .find(|l| l.starts_with("ss_"))
        .unwrap_or_else(|| panic!("no token in: {out}"))
        .trim()
        .to_owned()
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("secondstory.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_is_ready_quickly_and_answers_health_readiness_metrics_with_request_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = sqlite_url(dir.path());
    // Migrate first, so readiness measures the server, not the first migration.
    admin_token(&database);
    let server = Instance::start(&database, dir.path(), &[], &[]).await;
    eprintln!(
        "time to ready (spawn → first 200 on /healthz): {} ms",
        server.ready_after.as_millis()
    );
    let client = client();
    let health = client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert!(
        health.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    let ready = client
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    // A request id the caller sends is kept, so logs can be followed across services.
    let echoed = client
        .get(server.url("/readyz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("readyz");
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/readyz\""), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_json_writes_one_json_object_per_line_to_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = sqlite_url(dir.path());
    let server = Instance::start(
        &database,
        dir.path(),
        &["--log-format", "json"],
        &[("SECONDSTORY_LOG", "info,tower_http=debug")],
    )
    .await;
    let client = client();
    client
        .get(server.url("/api/v1/incidents"))
        .send()
        .await
        .expect("request");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stderr = server.stderr_text();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines on stderr");
    for line in &lines {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value.is_object() && value.get("level").is_some(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = sqlite_url(dir.path());
    let token = admin_token(&database);
    let mut server = Instance::start(&database, dir.path(), &[], &[]).await;
    // A long review full of blaming language keeps the linter busy for a while: long enough
    // (about two seconds, measured on a small sample first) to still be running at SIGTERM.
    let paragraph = "The on-call engineer failed to notice the alert and should have simply \
                     rolled back; obviously it was human error and careless. ";
    let client = client();
    let sample = paragraph.repeat(20_000 / paragraph.len());
    let timed = Instant::now();
    let calibration = client
        .post(server.url("/api/v1/lint"))
        .bearer_auth(&token)
        .json(&json!({ "text": sample }))
        .send()
        .await
        .expect("lint request");
    assert_eq!(calibration.status(), 200);
    let per_byte = timed.elapsed().as_secs_f64() / sample.len() as f64;
    let bytes = ((2.0 / per_byte) as usize).clamp(sample.len(), 1_900_000);
    let text = paragraph.repeat(bytes / paragraph.len());
    let url = server.url("/api/v1/lint");
    let request = {
        let client = client.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "text": text }))
                .send()
                .await
                .expect("lint request");
            let status = response.status();
            let body = response.bytes().await.expect("body");
            (status, body.len(), started.elapsed())
        })
    };
    // Give the request time to arrive and start, then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let terminated_at = Instant::now();
    server.terminate();
    let (status, body_len, took) = request.await.expect("request task");
    assert_eq!(status, 200, "the request in flight completes");
    assert!(body_len > 2, "with its findings");
    eprintln!(
        "lint request took {} ms; SIGTERM was sent after 300 ms",
        took.as_millis()
    );
    assert_eq!(
        server.exit_code(Duration::from_secs(60)).await,
        Some(0),
        "a clean exit after SIGTERM:\n{}",
        server.stderr_text()
    );
    assert!(terminated_at.elapsed() < Duration::from_secs(60));
    // And the port is no longer served.
    assert!(client.get(server.url("/healthz")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_the_url_and_a_one_time_admin_password_that_signs_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = sqlite_url(dir.path());
    let server = Instance::start(&database, dir.path(), &["--demo"], &[]).await;
    let stdout = server.stdout_text();
    let url_line = stdout
        .lines()
        .find(|l| l.contains("running at"))
        .unwrap_or_else(|| panic!("no URL printed: {stdout}"));
    assert!(
        url_line.contains(&format!("{}/", server.base)),
        "{url_line} names {}",
        server.base
    );
    let password = stdout
        .lines()
        .find_map(|l| l.split("one-time password: ").nth(1))
        .unwrap_or_else(|| panic!("no password printed: {stdout}"))
        .trim()
        .to_owned();
    let client = client();
    let signed_in = client
        .post(server.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        !cookie.contains("Secure"),
        "plain http on localhost: {cookie}"
    );
    let session_cookie = cookie.split(';').next().expect("pair").to_owned();
    let me = client
        .get(server.url("/api/v1/session"))
        .header("cookie", session_cookie)
        .send()
        .await
        .expect("session")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "admin");
}

/// Two `serve` processes on one PostgreSQL scratch schema, or `None` (skipped) outside CI when
/// there is no PostgreSQL.
async fn two_instances_on_postgres(dir: &Path) -> Option<(Instance, Instance, String)> {
    let base = secondstory_store_sql::testing::postgres_base_url().await?;
    let database = secondstory_store_sql::testing::scratch_postgres_url(&base).await;
    let token = admin_token(&database);
    let a = Instance::start(&database, dir, &[], &[]).await;
    let b = Instance::start(&database, dir, &[], &[]).await;
    Some((a, b, token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_behave_as_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((a, b, token)) = two_instances_on_postgres(dir.path()).await else {
        return;
    };
    let client = client();

    // Written through one, read through the other.
    let created = client
        .post(a.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(
            &json!({"title": "Orders writes fail", "severity": "SEV2", "services": ["orders-api"]}),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let read = client
        .get(b.url(&format!("/api/v1/incidents/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.json::<Value>().await.expect("json")["title"],
        "Orders writes fail"
    );

    // A session begun on one is good on the other.
    let signed_in = client
        .post(a.url("/api/v1/session"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let me = client
        .get(b.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("session");
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<Value>().await.expect("json")["username"], "alice");

    // Two changes based on the same version, one through each instance at once: exactly one
    // wins, the other is told it is stale.
    for round in 0..20 {
        let current = client
            .get(a.url(&format!("/api/v1/incidents/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("read");
        let etag = current.headers()["etag"].to_str().expect("etag").to_owned();
        let patch = |instance: &Instance, title: String| {
            client
                .patch(instance.url(&format!("/api/v1/incidents/{id}")))
                .bearer_auth(&token)
                .header("if-match", &etag)
                .json(&json!({ "title": title }))
                .send()
        };
        let (first, second) = tokio::join!(
            patch(&a, format!("round {round} via a")),
            patch(&b, format!("round {round} via b"))
        );
        let mut statuses = [
            first.expect("patch a").status().as_u16(),
            second.expect("patch b").status().as_u16(),
        ];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}");
    }

    // Failed sign-ins count across instances: the limit (10 per window, per account and per
    // address; the address also counted the successful sign-in above) is reached although
    // neither instance saw more than six attempts.
    let mut statuses = Vec::new();
    for attempt in 0..12 {
        let instance = if attempt % 2 == 0 { &a } else { &b };
        let reply = client
            .post(instance.url("/api/v1/session"))
            .json(&json!({"username": "alice", "password": "wrong password!"}))
            .send()
            .await
            .expect("sign in");
        statuses.push(reply.status().as_u16());
    }
    assert_eq!(&statuses[..9], &[401; 9], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
}
