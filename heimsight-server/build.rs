//! Embeds the web UI's front-end packages, installed from npm (`ui/package.json`, pinned by
//! `ui/package-lock.json`; `npm ci` in `ui/` — `scripts/deps.sh` runs it). When they are not
//! installed, the UI is built without them: every page still works as plain HTML forms and
//! links (the UI enhances progressively), and the build says so.

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let js = Path::new("ui/node_modules/htmx.org/dist/htmx.min.js");
    println!("cargo:rerun-if-changed=ui/package-lock.json");
    println!("cargo:rerun-if-changed=ui/node_modules/htmx.org/package.json");
    println!("cargo:rerun-if-env-changed=HEIMSIGHT_HTMX_JS");
    let source = std::env::var_os("HEIMSIGHT_HTMX_JS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| js.to_path_buf());
    let content = match std::fs::read(&source) {
        Ok(bytes) => bytes,
        Err(_) => {
            println!(
                "cargo:warning=htmx not found at {} (run `npm ci` in heimsight-server/ui, or scripts/deps.sh): the web UI is built without it and works as plain HTML",
                source.display()
            );
            Vec::new()
        }
    };
    if let Err(e) = std::fs::write(Path::new(&out).join("htmx.min.js"), content) {
        panic!("cannot write htmx.min.js to OUT_DIR: {e}");
    }
}
