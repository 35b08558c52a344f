//! A certificate authority made with the `openssl` command, and server certificates it signs,
//! for the TLS tests. Shared by the server's tests and the CLI's (which include this file by
//! path).

use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian package openssl) runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate authority (`ca.pem`) in a temporary directory.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A new certificate authority.
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=Heimsight Test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        );
        Pki { dir }
    }

    /// The certificate authority's certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.file("ca.pem")
    }

    /// A file of the authority's directory (`name.pem`, `name.key` of [`server`](Self::server)).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A server certificate for `localhost` and 127.0.0.1 named `name`, signed by the
    /// authority: `name.pem` and its key `name.key` (RSA in PKCS#8, or with `ec` P-256 in SEC1).
    pub fn server(&self, name: &str, ec: bool) -> (PathBuf, PathBuf) {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        let dir = self.dir.path();
        if ec {
            openssl(
                dir,
                &[
                    "ecparam",
                    "-name",
                    "prime256v1",
                    "-genkey",
                    "-noout",
                    "-out",
                    &key,
                ],
            );
        } else {
            openssl(
                dir,
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-out",
                    &key,
                ],
            );
        }
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-subj",
                &format!("/CN={name}"),
                "-out",
                &csr,
            ],
        );
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                &pem,
            ],
        );
        (dir.join(pem), dir.join(key))
    }
}
