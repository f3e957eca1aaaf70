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

    /// Opens `path` (`/runs/3`) of the server at `base_url`.
    pub async fn open(&self, base_url: &str, path: &str) -> anyhow::Result<()> {
        self.client
            .goto(&format!("{base_url}{path}"))
            .await
            .with_context(|| format!("opening {path}"))
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
        self.wait_for_text_within(css, accept, WAIT).await
    }

    /// [`Self::wait_for_text`] with its own deadline (real training takes longer than [`WAIT`]).
    pub async fn wait_for_text_within(
        &self,
        css: &str,
        accept: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + limit;
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
        bail!("`{css}` never showed the expected text within {limit:?}; last text: {last:?}")
    }

    /// The text of the element matching `css`, once it exists.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        self.find(css)
            .await?
            .text()
            .await
            .with_context(|| format!("reading the text of `{css}`"))
    }

    /// Replaces the text of the input matching `css` by typing `text` (every keystroke fires
    /// `input`, as a person's would).
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let input = self.find(css).await?;
        input
            .clear()
            .await
            .with_context(|| format!("clearing `{css}`"))?;
        input
            .send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Picks the option with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) -> anyhow::Result<()> {
        self.find(css)
            .await?
            .select_by_value(value)
            .await
            .with_context(|| format!("choosing `{value}` in `{css}`"))
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.find(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking `{css}`"))
    }

    /// Resizes the window to a phone's (390 × 844 CSS pixels) and returns the page's scroll width
    /// and the viewport width: a page that works on a phone does not scroll sideways (wide
    /// tables scroll inside their own box).
    pub async fn phone_widths(&self) -> anyhow::Result<(f64, f64)> {
        self.client.set_window_size(390, 844).await?;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let widths = self
                .client
                .execute(
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await?;
            let pair: Vec<f64> = serde_json::from_value(widths)?;
            // The resize lands asynchronously; wait until the viewport took it.
            if pair[1] <= 400.0 || tokio::time::Instant::now() > deadline {
                return Ok((pair[0], pair[1]));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many elements match `css` right now.
    pub async fn count(&self, css: &str) -> anyhow::Result<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    /// How each element matching `css` is painted: its box, and whether a click at its centre
    /// lands on it (or on something inside it). The DOM can hold an element the browser never draws (an HTML `<a>` inside
    /// an SVG hides everything in it): such an element has an empty box, and the point at its
    /// centre belongs to something else. An element under an identical twin (two runs with the
    /// same metrics draw two dots in one place) counts as hit when the twin is.
    pub async fn painted(&self, css: &str) -> anyhow::Result<Vec<Painted>> {
        let found = self
            .client
            .execute(
                r"const sel = arguments[0];
                  return [...document.querySelectorAll(sel)].map(e => {
                    e.scrollIntoView({block: 'center'});
                    const r = e.getBoundingClientRect();
                    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                    const twin = hit && hit !== e && hit.matches(sel) && (() => {
                      const h = hit.getBoundingClientRect();
                      return h.x === r.x && h.y === r.y && h.width === r.width && h.height === r.height;
                    })();
                    return {width: r.width, height: r.height, hit: Boolean(hit && e.contains(hit)) || Boolean(twin),
                            namespace: e.parentElement ? e.parentElement.namespaceURI : null};
                  });",
                vec![serde_json::Value::from(css)],
            )
            .await
            .with_context(|| format!("measuring `{css}`"))?;
        serde_json::from_value(found).with_context(|| format!("reading the boxes of `{css}`"))
    }

    /// Waits until the page's path (with its query) satisfies `accept`, and returns it.
    pub async fn wait_for_path(&self, accept: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            let url = self.client.current_url().await?;
            last = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_string(),
            };
            if accept(&last) {
                return Ok(last);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the page never reached the expected address within {WAIT:?}; last: {last}")
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

    /// Scrolls the element matching `css` to the top of the window, then saves a screenshot.
    pub async fn screenshot_at(&self, css: &str, name: &str) -> anyhow::Result<PathBuf> {
        self.find(css).await?;
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView();",
                vec![serde_json::Value::from(css)],
            )
            .await
            .with_context(|| format!("scrolling to `{css}`"))?;
        self.screenshot(name).await
    }

    /// Ends the WebDriver session (closes Chromium).
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await.context("closing the browser")
    }
}

/// One element as the browser painted it ([`Browser::painted`]).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Painted {
    /// Box width in CSS pixels.
    pub width: f64,
    /// Box height in CSS pixels.
    pub height: f64,
    /// Whether `elementFromPoint` at the box's centre returns the element, something inside it,
    /// or its twin.
    pub hit: bool,
    /// The namespace of its parent element (SVG's or HTML's).
    pub namespace: Option<String>,
}

impl Painted {
    /// Drawn with a non-empty box, and on top at its centre.
    pub fn visible(&self) -> bool {
        self.width > 0.0 && self.height > 0.0 && self.hit
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
