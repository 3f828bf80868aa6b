//! Where each operator setting comes from, for the admin's settings page: staff see what
//! they cannot change there and whom to ask (issue 31).

use std::path::{Path, PathBuf};

use super::{DEFAULT_CONFIG_FILE, ENV_PREFIX, Settings};

/// Where a setting's value was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingSource {
    /// A `NYHETSBREV_*` variable, by its name.
    Environment(String),
    /// The settings file, by its path.
    File(PathBuf),
    /// Not set: the built-in default.
    Default,
}

impl SettingSource {
    /// Where it comes from, in words.
    pub fn norwegian(&self) -> String {
        match self {
            SettingSource::Environment(var) => format!("miljøvariabelen {var}"),
            SettingSource::File(path) => format!("innstillingsfilen {}", path.display()),
            SettingSource::Default => "standardverdien (ikke satt)".to_owned(),
        }
    }
}

/// One operator setting as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSetting {
    /// What it is, in words.
    pub label: &'static str,
    /// Its value, with any password hidden.
    pub value: String,
    pub source: SettingSource,
}

impl Settings {
    /// Where `key` comes from, given the file the settings were read from.
    pub fn source_of(file: Option<&Path>, key: &str) -> SettingSource {
        let var = format!("{ENV_PREFIX}{}", key.to_uppercase());
        if std::env::var_os(&var).is_some() {
            return SettingSource::Environment(var);
        }
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()));
        let in_file = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .is_some_and(|text| {
                text.parse::<toml::Table>()
                    .is_ok_and(|table| table.contains_key(key))
            });
        match path {
            Some(path) if in_file => SettingSource::File(path),
            _ => SettingSource::Default,
        }
    }

    /// The settings staff cannot change in the admin, with where each comes from.
    pub fn operator_settings(&self) -> Vec<OperatorSetting> {
        let file = self.loaded_from.as_deref();
        let line = |label, key: &str, value: String| OperatorSetting {
            label,
            value,
            source: Self::source_of(file, key),
        };
        let database = match self.database_url.sqlite_path() {
            Some(path) => format!("SQLite-filen {}", path.display()),
            None => format!("PostgreSQL: {}", self.database_url.redacted()),
        };
        let relay = match self.relay() {
            Ok(Some(relay)) => format!("e-posttjeneren {}:{}", relay.host, relay.port),
            Ok(None) => format!("ingen: e-post legges i mappen {}", self.outbox.display()),
            Err(_) => "feil i adressen: se doctor".to_owned(),
        };
        let dkim = match (&self.dkim_selector, &self.dkim_key_file) {
            (Some(selector), Some(file)) => {
                format!("velger «{selector}», nøkkelfil {}", file.display())
            }
            _ => "ikke satt opp".to_owned(),
        };
        let set_or_not = |set: bool| if set { "satt" } else { "ikke satt" }.to_owned();
        // A key not given in the settings is the key file's (made at the first start).
        let key = match Self::source_of(file, "token_key") {
            SettingSource::Default => {
                let path = self.token_key_path();
                OperatorSetting {
                    label: "Nøkkelen som signerer lenker",
                    value: if path.exists() {
                        format!("i nøkkelfilen {}", path.display())
                    } else {
                        format!("ikke laget ennå: lages i {} ved oppstart", path.display())
                    },
                    source: Self::source_of(file, "token_key_file"),
                }
            }
            source => OperatorSetting {
                label: "Nøkkelen som signerer lenker",
                value: set_or_not(self.token_key.is_some()),
                source,
            },
        };
        vec![
            line("Databasen", "database_url", database),
            line("Sendes gjennom", "smtp_url", relay),
            line(
                "Tjenestens nettadresse",
                "base_url",
                self.base_url().to_owned(),
            ),
            line("Lytter på", "bind", self.bind.to_string()),
            key,
            line("DKIM-signering", "dkim_key_file", dkim),
            line(
                "Postkasse for e-post til tjenesten",
                "imap_url",
                set_or_not(self.imap_url.is_some()),
            ),
        ]
    }
}
