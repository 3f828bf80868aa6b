//! Ports in the one test process. Servers the tests run in-process bind port 0 and keep
//! their listener, so the kernel never hands their port out twice. A server the tests
//! start as another process (Dovecot, chromedriver) must be told a port that is free:
//! [`free_port`] hands each port out once per process, so two such helpers running side
//! by side never get the same one. A port nobody answers at is [`ClosedPort`]: kept
//! bound (never listening) for as long as the test needs it refused.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

static HANDED_OUT: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Default::default);

/// A port on `ip` that was free a moment ago and that no other caller in this process
/// has been given.
pub fn free_port(ip: &str) -> u16 {
    loop {
        let port = std::net::TcpListener::bind((ip, 0))
            .expect("bind a free port")
            .local_addr()
            .unwrap()
            .port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// A port on 127.0.0.1 that refuses connections (nothing listens) and that nobody else
/// can bind while this lives: "a relay that is not there".
pub struct ClosedPort {
    _bound: tokio::net::TcpSocket,
    pub port: u16,
}

impl ClosedPort {
    pub fn bind() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind a free port");
        let port = socket.local_addr().unwrap().port();
        ClosedPort {
            _bound: socket,
            port,
        }
    }
}
