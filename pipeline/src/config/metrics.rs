//! `[metrics]`: the server of `/metrics`, `/healthz` and `/readyz`.

use std::net::SocketAddr;

use serde::Deserialize;

use super::{Invalid, invalid};

/// Where the server listens unless configured otherwise: every interface, port 9464.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 9464);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Address of the `/metrics`, `/healthz` and `/readyz` server. Default
    /// [`DEFAULT_LISTEN`] (`0.0.0.0:9464`); an empty string turns the server off.
    pub listen: Option<String>,
}

/// `[metrics]`, validated.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// `None`: no server.
    pub listen: Option<SocketAddr>,
}

impl MetricsSection {
    pub fn validate(self) -> Result<MetricsConfig, Invalid> {
        let listen = match self.listen.as_deref() {
            None => Some(DEFAULT_LISTEN),
            Some("") => None,
            Some(s) => Some(
                s.parse()
                    .map_err(|e| invalid("metrics.listen", format!("{s:?}: {e}")))?,
            ),
        };
        Ok(MetricsConfig { listen })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(value: Option<&str>) -> Result<Option<SocketAddr>, Invalid> {
        let section = MetricsSection {
            listen: value.map(str::to_owned),
        };
        section.validate().map(|c| c.listen)
    }

    #[test]
    fn the_server_listens_on_port_9464_unless_told_otherwise() {
        assert_eq!(
            listen(None),
            Ok(Some("0.0.0.0:9464".parse().expect("addr")))
        );
        assert_eq!(
            listen(Some("127.0.0.1:9000")),
            Ok(Some("127.0.0.1:9000".parse().expect("addr")))
        );
    }

    #[test]
    fn an_empty_address_turns_the_server_off() {
        assert_eq!(listen(Some("")), Ok(None));
    }

    #[test]
    fn a_bad_address_names_the_key() {
        assert_eq!(
            listen(Some("9464")).map_err(|e| e.key),
            Err("metrics.listen")
        );
    }
}
