//! The web UI in a real browser: Debian's headless Chromium driven over WebDriver (fantoccini,
//! through chromedriver) against a server on a free local port. Every page visited is checked
//! with axe-core (no serious or critical violations) and screenshotted to
//! `target/screenshots/`. Install the browser with `scripts/install-browser`; without
//! chromedriver the test is skipped, except under `CI=true` where it fails.

mod common;

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{RESTRICTED, TestServer};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const SLACK_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/samples/slack/Quaystone Slack export Mar 30 2024 - Mar 31 2024.zip"
);

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS")
        .unwrap_or_else(|_| "/var/tmp/secondstory-axe/node_modules/axe-core/axe.min.js".to_owned());
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core not found at {path} ({e}); run scripts/install-browser")
    })
}

async fn browser(driver_port: u16, profile: &std::path::Path, dark: bool) -> Result<Client> {
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1280,900".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if dark {
        args.push("--force-dark-mode".to_owned());
        args.push("--blink-settings=preferredColorScheme=0".to_owned());
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({"binary": "/usr/bin/chromium", "args": args}),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Ok(ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await?)
}

struct Checker {
    base: String,
    axe: String,
    shots: PathBuf,
    checked: Vec<String>,
}

impl Checker {
    /// Runs axe-core on the current page and fails on serious or critical violations.
    async fn axe(&mut self, client: &Client, name: &str) -> Result<()> {
        let loaded: Value = client
            .execute("return typeof axe !== 'undefined';", vec![])
            .await?;
        if loaded != json!(true) {
            client.execute(&self.axe, vec![]).await?;
        }
        let result = client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))
                 )).catch(e => done([{id: 'axe-error', help: String(e)}]));",
                vec![],
            )
            .await?;
        let violations = result.as_array().cloned().unwrap_or_default();
        assert!(
            violations.is_empty(),
            "axe found serious or critical violations on {name}:\n{}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
        self.checked.push(name.to_owned());
        Ok(())
    }

    async fn shot(&self, client: &Client, name: &str) -> Result<()> {
        let png = client.screenshot().await?;
        std::fs::write(self.shots.join(format!("{name}.png")), png)?;
        Ok(())
    }

    /// Axe and a screenshot of the page now shown.
    async fn page(&mut self, client: &Client, name: &str) -> Result<()> {
        self.axe(client, name).await?;
        self.shot(client, name).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn sign_in(checker: &Checker, client: &Client, username: &str) -> Result<()> {
    client.goto(&checker.url("/signin")).await?;
    client
        .find(Locator::Id("username"))
        .await?
        .send_keys(username)
        .await?;
    client
        .find(Locator::Id("password"))
        .await?
        .send_keys(&format!("{username}-password"))
        .await?;
    client
        .find(Locator::Css("form button[type=submit]"))
        .await?
        .click()
        .await?;
    client
        .wait()
        .for_element(Locator::Css("form.signout"))
        .await?;
    Ok(())
}

async fn review_text(client: &Client) -> Result<String> {
    let value = client
        .execute(
            "return document.getElementById('review-body').value;",
            vec![],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

async fn set_review(client: &Client, text: &str) -> Result<()> {
    let area = client.find(Locator::Id("review-body")).await?;
    area.clear().await?;
    area.send_keys(text).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_works_in_a_real_browser_and_passes_axe() -> Result<()> {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{CHROMEDRIVER} is missing: run scripts/install-browser");
        }
        eprintln!("skipped: {CHROMEDRIVER} is missing (run scripts/install-browser)");
        return Ok(());
    }
    let server = TestServer::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = server.state.clone();
    let serving = tokio::spawn(secondstory_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let driver_port = free_port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", driver_port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profiles = tempfile::tempdir()?;
    let mut checker = Checker {
        base: format!("http://127.0.0.1:{port}"),
        axe: axe_source(),
        shots: screenshots_dir(),
        checked: Vec::new(),
    };

    let editor = browser(driver_port, &profiles.path().join("editor"), false).await?;
    let outcome = run(&mut checker, &editor, driver_port, profiles.path()).await;
    let _ = editor.close().await;
    let _ = stop.send(());
    let _ = serving.await;
    outcome?;
    eprintln!("axe passed on: {}", checker.checked.join(", "));
    Ok(())
}

async fn run(
    checker: &mut Checker,
    editor: &Client,
    driver_port: u16,
    profiles: &std::path::Path,
) -> Result<()> {
    // Signing in.
    editor.goto(&checker.url("/signin")).await?;
    checker.page(editor, "signin").await?;
    sign_in(checker, editor, "editor").await?;
    checker.page(editor, "incidents").await?;

    // A new incident, from the form.
    editor.goto(&checker.url("/incidents/new")).await?;
    checker.page(editor, "incident-new").await?;
    editor
        .find(Locator::Id("title"))
        .await?
        .send_keys("Orders API write errors")
        .await?;
    editor
        .find(Locator::Id("services"))
        .await?
        .send_keys("orders-api, pgbouncer")
        .await?;
    editor
        .find(Locator::Css("form.stack button[type=submit]"))
        .await?
        .click()
        .await?;
    editor
        .wait()
        .for_element(Locator::Css(".incident-head"))
        .await?;
    let incident_url = editor.current_url().await?.to_string();
    let id = incident_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(id.starts_with("INC-"), "{incident_url}");

    // Import the Slack sample from the browser and see its events on the timeline.
    editor
        .goto(&checker.url(&format!("/incidents/{id}/timeline")))
        .await?;
    checker.page(editor, "timeline-editor").await?;
    editor
        .find(Locator::Id("import-file"))
        .await?
        .send_keys(&std::fs::canonicalize(SLACK_SAMPLE)?.display().to_string())
        .await?;
    editor
        .find(Locator::Css("#import-form button[type=submit]"))
        .await?
        .click()
        .await?;
    let summary = editor
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Id("import-summary"))
        .await?
        .text()
        .await?;
    assert!(summary.contains("new event(s) imported"), "{summary}");
    checker.page(editor, "timeline-import-summary").await?;
    editor.goto(&incident_url).await?;
    let rows = editor
        .find_all(Locator::Css("table.events tbody tr"))
        .await?;
    assert!(!rows.is_empty(), "the imported events are listed");
    let dots = editor.find_all(Locator::Css("#timeline-svg .ev")).await?;
    assert!(!dots.is_empty(), "the imported events are drawn");
    let lanes = editor
        .find(Locator::Css("#timeline-svg"))
        .await?
        .html(false)
        .await?;
    assert!(lanes.contains(">Chat<"), "a chat lane");
    checker.page(editor, "incident").await?;

    // The review editor: the coach hints, a suggestion is applied, the revision saved.
    editor
        .goto(&checker.url(&format!("/incidents/{id}/review/edit")))
        .await?;
    set_review(
        editor,
        "# Orders API write errors\n\n## Summary\n\nThe engineer should have checked the dashboard. \
         The fix was simply to restart the pool.\n",
    )
    .await?;
    editor
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#coach-findings li.cat-counterfactual"))
        .await?;
    let coach = editor.find(Locator::Css(".coach")).await?.text().await?;
    assert!(coach.contains("should have checked"), "{coach}");
    assert!(
        editor
            .find_all(Locator::Css("#highlights mark"))
            .await?
            .len()
            >= 2,
        "the spans are underlined"
    );
    checker.page(editor, "review-editor").await?;
    editor
        .find(Locator::Css("#coach-findings button.apply"))
        .await?
        .click()
        .await?;
    let text = review_text(editor).await?;
    assert!(
        !text.contains("simply"),
        "the suggestion was applied: {text}"
    );
    assert!(text.contains("should have checked the dashboard"));
    editor
        .find(Locator::Css("button[name=intent][value=save]"))
        .await?
        .click()
        .await?;
    editor
        .wait()
        .for_element(Locator::Css("article.review"))
        .await?;
    let saved = editor
        .find(Locator::Css("article.review"))
        .await?
        .text()
        .await?;
    assert!(saved.contains("The fix was to restart the pool"), "{saved}");

    // Two people, two browser contexts, one review: the second save shows the merge view.
    let admin = browser(driver_port, &profiles.join("admin"), false).await?;
    let merged = async {
        sign_in(checker, &admin, "admin").await?;
        let edit = checker.url(&format!("/incidents/{id}/review/edit"));
        editor.goto(&edit).await?;
        admin.goto(&edit).await?;
        set_review(editor, "Editor's words: the pool was saturated.\n").await?;
        set_review(&admin, "Admin's words: the DNS TTL was long.\n").await?;
        editor
            .find(Locator::Css("button[name=intent][value=save]"))
            .await?
            .click()
            .await?;
        editor
            .wait()
            .for_element(Locator::Css("article.review"))
            .await?;
        admin
            .find(Locator::Css("button[name=intent][value=save]"))
            .await?
            .click()
            .await?;
        admin
            .wait()
            .for_element(Locator::Id("merge-notice"))
            .await?;
        let theirs = admin
            .execute("return document.getElementById('theirs').value;", vec![])
            .await?;
        let yours = admin
            .execute("return document.getElementById('yours').value;", vec![])
            .await?;
        assert!(theirs.as_str().unwrap_or("").contains("Editor's words"));
        assert!(yours.as_str().unwrap_or("").contains("Admin's words"));
        assert!(review_text(&admin).await?.contains("Admin's words"));
        checker.page(&admin, "review-merge").await?;
        admin.goto(&checker.url("/admin")).await?;
        checker.page(&admin, "admin").await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    let _ = admin.close().await;
    merged?;

    for (path, name) in [
        (format!("/incidents/{id}/review/history"), "review-history"),
        (format!("/incidents/{id}/review/diff"), "review-diff"),
        ("/actions".to_owned(), "actions"),
    ] {
        editor.goto(&checker.url(&path)).await?;
        checker.page(editor, name).await?;
    }

    // Narrow screens: 360 px wide.
    editor.set_window_size(360, 800).await?;
    for (path, name) in [
        ("/incidents".to_owned(), "narrow-incidents"),
        (format!("/incidents/{id}"), "narrow-incident"),
        (
            format!("/incidents/{id}/review/edit"),
            "narrow-review-editor",
        ),
    ] {
        editor.goto(&checker.url(&path)).await?;
        checker.page(editor, name).await?;
        let overflow = editor
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await?;
        assert_eq!(overflow, json!(false), "{name} scrolls sideways at 360 px");
    }
    editor.set_window_size(1280, 900).await?;

    // Dark mode follows the system setting.
    let dark = browser(driver_port, &profiles.join("dark"), true).await?;
    let dark_run = async {
        sign_in(checker, &dark, "editor").await?;
        let scheme = dark
            .execute(
                "return window.matchMedia('(prefers-color-scheme: dark)').matches;",
                vec![],
            )
            .await?;
        for (path, name) in [
            ("/incidents".to_owned(), "dark-incidents"),
            (format!("/incidents/{id}"), "dark-incident"),
            (format!("/incidents/{id}/review/edit"), "dark-review-editor"),
        ] {
            dark.goto(&checker.url(&path)).await?;
            checker.page(&dark, name).await?;
        }
        eprintln!("dark color scheme in effect: {scheme}");
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    let _ = dark.close().await;
    dark_run?;

    // Someone outside the restricted incident's group gets the plain 404 page.
    let outsider = browser(driver_port, &profiles.join("outsider"), false).await?;
    let restricted = async {
        sign_in(checker, &outsider, "outsider").await?;
        outsider
            .goto(&checker.url(&format!("/incidents/{RESTRICTED}")))
            .await?;
        let heading = outsider.find(Locator::Css("h1")).await?.text().await?;
        assert!(heading.contains("404"), "{heading}");
        checker.page(&outsider, "restricted-404").await?;
        outsider.goto(&checker.url("/incidents")).await?;
        let list = outsider.source().await?;
        assert!(!list.contains(RESTRICTED));
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    let _ = outsider.close().await;
    restricted
}
