//! The files in deploy/ agree with the program: the example settings name every key
//! and load as shipped and with every example value taken; the units run the installed
//! binary with the packaged settings, under their own user, hardened; the package
//! metadata ships what the units (their programs and their documentation) and the
//! README name.

use std::path::Path;

use nyhetsbrev::config::{KEYS, Settings};

fn deploy(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_example_settings_name_every_key_and_load_as_shipped_and_uncommented() {
    let example = deploy("nyhetsbrev.toml");
    let set_or_commented = |key: &str| {
        example.lines().any(|line| {
            let line = line.strip_prefix('#').unwrap_or(line);
            line.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(" = "))
        })
    };
    let missing: Vec<_> = KEYS.iter().filter(|k| !set_or_commented(k)).collect();
    assert!(
        missing.is_empty(),
        "not in deploy/nyhetsbrev.toml: {missing:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let shipped = dir.path().join("shipped.toml");
    std::fs::write(&shipped, &example).unwrap();
    let settings = Settings::load(Some(&shipped)).expect("the example loads as shipped");
    assert_eq!(
        settings.database_url.sqlite_path().unwrap(),
        Path::new("/var/lib/nyhetsbrev/nyhetsbrev.db")
    );
    assert_eq!(settings.backup_every_hours, Some(24));

    // Every example value, taken at once, is a valid setting too (the token keys are
    // the lines that must be filled in).
    let uncommented: String = example
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest)
                if KEYS
                    .iter()
                    .any(|k| rest.strip_prefix(k).is_some_and(|r| r.starts_with(" = "))) =>
            {
                if rest.starts_with("token_key = ") {
                    "token_key = \"an example key of more than thirty-two characters\"".to_owned()
                } else if rest.starts_with("token_key_previous = ") {
                    "token_key_previous = \"the example key it replaced, also long enough\""
                        .to_owned()
                } else {
                    rest.to_owned()
                }
            }
            _ => line.to_owned(),
        })
        .map(|line| line + "\n")
        .collect();
    let all = dir.path().join("all.toml");
    std::fs::write(&all, &uncommented).unwrap();
    let settings = Settings::load(Some(&all)).expect("every example value is valid");
    assert!(settings.smtp_url.is_some() && settings.imap_url.is_some());
    assert_eq!(settings.metrics_bind.unwrap().port(), 9090);
    assert!(settings.problems().is_empty());
}

#[test]
fn the_units_run_the_packaged_binary_as_their_own_user_hardened() {
    let package: deb_metadata::Package = deb_metadata::read();
    for unit in ["nyhetsbrev.service", "nyhetsbrev-worker@.service"] {
        let text = deploy(unit);
        let has = |line: &str| text.lines().any(|l| l.trim() == line);
        for line in [
            "User=nyhetsbrev",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "CapabilityBoundingSet=",
            "WorkingDirectory=/var/lib/nyhetsbrev",
            "ConditionPathExists=/etc/nyhetsbrev/nyhetsbrev.toml",
        ] {
            assert!(has(line), "{unit} lacks {line}");
        }
        assert!(
            text.lines()
                .any(|l| l.starts_with("StateDirectory=nyhetsbrev")),
            "{unit}: StateDirectory"
        );
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap_or_else(|| panic!("{unit} has no ExecStart"));
        let mut words = exec.split_whitespace();
        let binary = words.next().unwrap();
        assert!(
            package.installs(binary),
            "{unit} runs {binary}, which the package does not install"
        );
        let rest: Vec<_> = words.collect();
        assert_eq!(rest[0], "--config");
        assert!(package.installs(rest[1]), "{unit} reads {}", rest[1]);
        // The command is one the binary has.
        assert!(
            matches!(rest[2], "serve" | "worker"),
            "{unit} runs {}",
            rest[2]
        );
        assert!(package.installs(&format!("/lib/systemd/system/{unit}")));
        for documentation in text
            .lines()
            .filter_map(|l| l.strip_prefix("Documentation="))
        {
            for uri in documentation.split_whitespace() {
                let path = uri
                    .strip_prefix("file://")
                    .expect("a file the package ships");
                assert!(
                    package.installs(path),
                    "{unit} points to {path}, not shipped"
                );
            }
        }
    }
    for example in [
        "Caddyfile",
        "nginx.conf",
        "postfix/master.cf",
        "postfix/transport",
    ] {
        assert!(
            package.installs(&format!("/usr/share/doc/nyhetsbrev/examples/{example}")),
            "{example} is not shipped"
        );
    }
    // The pipe runs the installed binary with the packaged settings.
    let pipe = deploy("postfix/master.cf");
    assert!(
        pipe.contains("argv=/usr/bin/nyhetsbrev --config /etc/nyhetsbrev/nyhetsbrev.toml inbound")
    );
    // The maintainer scripts are those the metadata names, and executable.
    for script in ["postinst", "prerm", "postrm"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(&package.maintainer_scripts)
            .join(script);
        let mode = std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
        assert_eq!(mode & 0o111, 0o111, "{script} is not executable");
    }
}

/// A reader of `[package.metadata.deb]` just big enough for the test (the assets and
/// the maintainer-scripts folder), so the test needs no TOML crate of its own.
mod deb_metadata {
    pub struct Package {
        /// Where each asset is installed, as an absolute path.
        targets: Vec<String>,
        pub maintainer_scripts: String,
    }

    impl Package {
        pub fn installs(&self, path: &str) -> bool {
            self.targets.iter().any(|t| t == path)
        }
    }

    pub fn read() -> Package {
        let manifest =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
        let section = manifest
            .split("[package.metadata.deb]")
            .nth(1)
            .expect("Cargo.toml has [package.metadata.deb]");
        let section = section.split("\n[").next().unwrap();
        let maintainer_scripts = section
            .lines()
            .find_map(|l| l.strip_prefix("maintainer-scripts = "))
            .expect("maintainer-scripts")
            .trim_matches('"')
            .to_owned();
        let targets = section
            .lines()
            .filter(|l| l.trim_start().starts_with("[\""))
            .map(|l| {
                let fields: Vec<&str> = l.split('"').collect();
                // ["source", "target", "mode"]
                let (source, target) = (fields[1], fields[3]);
                let file = source.rsplit('/').next().unwrap();
                let target = format!("/{target}");
                if target.ends_with('/') {
                    format!("{target}{file}")
                } else {
                    target
                }
            })
            .collect();
        Package {
            targets,
            maintainer_scripts,
        }
    }
}
