//! Headless Chromium through Debian's chromedriver (no browser downloads).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::process::{Child, Command};

/// How long any wait for the page may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A chromedriver process plus one WebDriver session in headless Chromium.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn find_program(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    pub async fn start() -> anyhow::Result<Self> {
        let driver_path = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| find_program(&["/usr/bin/chromedriver"]))
            .context("chromedriver not found: run scripts/setup.sh (installs Debian's chromium-driver) or set CHROMEDRIVER")?;
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| find_program(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]))
            .context("chromium not found: run scripts/setup.sh (installs Debian's chromium) or set CHROMIUM")?;
        let port = free_port()?;
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", driver_path.display()))?;
        wait_for_port(port).await?;
        let profile = tempfile::Builder::new()
            .prefix("lethe-e2e-chromium")
            .tempdir()
            .context("creating a Chromium profile dir")?;
        let capabilities = chrome_capabilities(&chromium, profile.path());
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("opening a WebDriver session in headless Chromium")?;
        Ok(Self {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Waits for the element matching `css` and returns it.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting for `{css}`"))
    }

    /// Waits until the element matching `css` has text satisfying `accept`, and returns the text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        accept: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if accept(&last) {
                    return Ok(last);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("`{css}` never showed the expected text within {WAIT:?}; last text: {last:?}")
    }

    /// Saves a PNG screenshot of the page under `test-artifacts/`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let path = crate::artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Ends the WebDriver session (closes Chromium).
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await.context("closing the browser")
    }
}

fn chrome_capabilities(chromium: &Path, profile: &Path) -> fantoccini::wd::Capabilities {
    let options = serde_json::json!({
        "binary": chromium,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,800",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_string(), options);
    capabilities
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

async fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("chromedriver did not listen on port {port} within {WAIT:?}")
}
