//! `network.direction` from the configured internal networks
//! (`enrich.internal_networks`), as ECS defines it from the source's and the
//! destination's side: inbound, outbound, internal or external.
//!
//! Never overwrites a direction the log type set (GuardDuty's own, VPC Flow
//! Logs' `flow-direction`), and says nothing when either address is missing.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::additions::{Additions, Json, vacant};
use super::net::Cidr;
use super::{Addresses, Outcome};

#[derive(Debug, Clone)]
pub struct Direction {
    pub internal: Vec<Cidr>,
}

impl Direction {
    fn is_internal(&self, ip: IpAddr) -> bool {
        self.internal.iter().any(|c| c.contains(ip))
    }

    pub fn enrich(&self, doc: &mut Map<String, Value>) -> Outcome {
        let mut added = Additions::default();
        let outcome = self.enrich_addresses(
            doc,
            &Addresses::of(doc, &["source", "destination"]),
            &mut added,
        );
        added.apply(doc);
        outcome
    }

    /// Adds `network.direction` of `doc`, whose addresses are read, to `added`.
    pub fn enrich_addresses(
        &self,
        doc: &Map<String, Value>,
        addresses: &Addresses,
        added: &mut Additions,
    ) -> Outcome {
        if !vacant(doc, "network.direction") {
            return Outcome::default();
        }
        let (Some(source), Some(destination)) = (
            addresses.of_side("source"),
            addresses.of_side("destination"),
        ) else {
            return Outcome::default();
        };
        let direction: &'static [u8] =
            match (self.is_internal(source), self.is_internal(destination)) {
                (true, true) => b"\"internal\"",
                (true, false) => b"\"outbound\"",
                (false, true) => b"\"inbound\"",
                (false, false) => b"\"external\"",
            };
        added.add("network.direction", Json::Static(direction));
        Outcome {
            enriched: true,
            errors: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::fields::get;
    use serde_json::json;

    fn direction_of(v: Value) -> Option<Value> {
        let d = Direction {
            internal: ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
                .iter()
                .map(|c| Cidr::parse(c).expect("cidr"))
                .collect(),
        };
        let mut doc = v.as_object().cloned().expect("object");
        d.enrich(&mut doc);
        get(&doc, "network.direction").cloned()
    }

    fn flow(src: &str, dst: &str) -> Value {
        json!({"source": {"ip": src}, "destination": {"ip": dst}})
    }

    #[test]
    fn direction_follows_which_side_is_internal() {
        assert_eq!(
            direction_of(flow("203.0.113.5", "10.0.0.1")),
            Some(json!("inbound"))
        );
        assert_eq!(
            direction_of(flow("10.0.0.1", "203.0.113.5")),
            Some(json!("outbound"))
        );
        assert_eq!(
            direction_of(flow("10.0.0.1", "192.168.1.1")),
            Some(json!("internal"))
        );
        assert_eq!(
            direction_of(flow("203.0.113.5", "198.51.100.1")),
            Some(json!("external"))
        );
        assert_eq!(
            direction_of(flow("fd00::1", "2001:db8::1")),
            Some(json!("outbound"))
        );
    }

    #[test]
    fn a_direction_the_log_set_is_kept() {
        let mut v = flow("203.0.113.5", "10.0.0.1");
        v["network"] = json!({"direction": "egress"});
        assert_eq!(direction_of(v), Some(json!("egress")));
    }

    #[test]
    fn nothing_is_said_without_both_addresses() {
        assert_eq!(direction_of(json!({"source": {"ip": "10.0.0.1"}})), None);
        assert_eq!(direction_of(flow("10.0.0.1", "not-an-ip")), None);
    }
}
