//! A test CA and a server certificate it signed, made with openssl in a folder of the
//! test's own (rustls will not take a self-signed CA certificate as the server's own).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct TestCa {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A CA in `dir` and a certificate for `localhost`, 127.0.0.1 and `ip`.
pub fn make(dir: &Path, ip: &str) -> TestCa {
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed")
            .success();
        assert!(ok, "openssl {args:?}");
    };
    std::fs::write(
        dir.join("server.ext"),
        format!("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:{ip}\nbasicConstraints=CA:FALSE\n"),
    )
    .unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=nyhetsbrev test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "cert.pem",
    ]);
    TestCa {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}
