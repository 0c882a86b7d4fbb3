//! User agent parsing: `user_agent.name`, `user_agent.version` and
//! `user_agent.os.{name,version,full}` from `user_agent.original`.
//!
//! The parsing is the `ua-parser` crate's (the Rust implementation of the
//! ua-parser project) with the project's community-maintained expressions,
//! `pipeline/data/ua-regexes.json` (see `pipeline/data/README.md`). Its
//! expressions are compiled with the `regex` crate: matching is linear in the
//! user agent, whatever a client writes there.
//!
//! The expressions are compiled on the first user agent a process sees (about
//! 60 ms, 11 MiB), so a pipeline that reads no log with user agents pays
//! nothing. Devices (`user_agent.device.name`) are not parsed: their 633
//! expressions would more than double that memory for a field an
//! investigation rarely needs.
//!
//! The answers for the most recently seen user agents are kept, rendered as
//! JSON once ([`CACHE_ENTRIES`]): logs repeat a few user agents many times.
//! A user agent no expression recognises gets no field.

use std::sync::{Arc, OnceLock};

use quick_cache::sync::Cache;
use serde::Deserialize;
use serde_json::{Map, Value};
use ua_parser::{os, user_agent};

use super::Outcome;
use super::additions::{Additions, Json, push_str, vacant};

/// User agents whose answer is kept.
pub const CACHE_ENTRIES: usize = 4096;

/// A user agent longer than this is not parsed (a real one is a few hundred
/// bytes; a long one is a client filling a header).
const MAX_PARSED_BYTES: usize = 2048;

const REGEXES: &str = include_str!("../../data/ua-regexes.json");

#[derive(Deserialize)]
struct Regexes {
    user_agent_parsers: Vec<user_agent::Parser<'static>>,
    os_parsers: Vec<os::Parser<'static>>,
}

struct Parsers {
    user_agent: user_agent::Extractor<'static>,
    os: os::Extractor<'static>,
}

/// The expressions, compiled once per process on first use. `None` if they
/// do not compile (a broken data file: a test proves the bundled one does).
fn parsers() -> Option<&'static Parsers> {
    static PARSERS: OnceLock<Option<Parsers>> = OnceLock::new();
    PARSERS
        .get_or_init(|| match compile() {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "user agent expressions do not compile: user agents are not parsed");
                None
            }
        })
        .as_ref()
}

fn compile() -> Result<Parsers, String> {
    let regexes: Regexes = serde_json::from_str(REGEXES).map_err(|e| e.to_string())?;
    let user_agent = regexes
        .user_agent_parsers
        .into_iter()
        .try_fold(user_agent::Builder::new(), |b, p| b.push(p))
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    let os = regexes
        .os_parsers
        .into_iter()
        .try_fold(os::Builder::new(), |b, p| b.push(p))
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Parsers { user_agent, os })
}

/// What a user agent says, each field rendered as JSON.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    name: Option<Arc<[u8]>>,
    version: Option<Arc<[u8]>>,
    /// `{"name":…,"version":…,"full":…}`
    os: Option<Arc<[u8]>>,
}

/// Parses `user_agent.original` into the `user_agent` fields a document lacks.
pub struct UserAgents {
    cache: Cache<String, Arc<Parsed>>,
}

impl std::fmt::Debug for UserAgents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgents").finish_non_exhaustive()
    }
}

impl Default for UserAgents {
    fn default() -> Self {
        UserAgents {
            cache: Cache::new(CACHE_ENTRIES),
        }
    }
}

impl UserAgents {
    pub fn add_to(&self, doc: &Map<String, Value>, added: &mut Additions) -> Outcome {
        let Some(original) = doc
            .get("user_agent")
            .and_then(|u| u.get("original"))
            .and_then(Value::as_str)
            .filter(|ua| !ua.is_empty() && ua.len() <= MAX_PARSED_BYTES)
        else {
            return Outcome::default();
        };
        let parsed = match self.cache.get(original) {
            Some(p) => p,
            None => {
                let p = Arc::new(parse(original));
                self.cache.insert(original.to_owned(), Arc::clone(&p));
                p
            }
        };
        let mut enriched = false;
        for (path, json) in [
            ("user_agent.name", &parsed.name),
            ("user_agent.version", &parsed.version),
            ("user_agent.os", &parsed.os),
        ] {
            if let Some(json) = json
                && vacant(doc, path)
            {
                added.add(path, Json::Shared(Arc::clone(json)));
                enriched = true;
            }
        }
        Outcome {
            enriched,
            errors: 0,
        }
    }
}

/// `major.minor.patch…`, as many parts as there are.
fn version<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let parts: Vec<&str> = parts
        .into_iter()
        .map_while(|p| p.filter(|p| !p.is_empty()))
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

fn json_string(s: &str) -> Arc<[u8]> {
    let mut out = Vec::with_capacity(s.len() + 2);
    push_str(&mut out, s);
    out.into()
}

/// Parses one user agent. "Other" is what the expressions call an agent
/// they do not know: it gives no field.
pub fn parse(ua: &str) -> Parsed {
    let Some(parsers) = parsers() else {
        return Parsed::default();
    };
    let mut parsed = Parsed::default();
    if let Some(agent) = parsers.user_agent.extract(ua)
        && agent.family != "Other"
    {
        parsed.name = Some(json_string(&agent.family));
        parsed.version = version([agent.major, agent.minor, agent.patch, agent.patch_minor])
            .map(|v| json_string(&v));
    }
    if let Some(system) = parsers.os.extract(ua)
        && system.os != "Other"
    {
        let v = version([
            system.major.as_deref(),
            system.minor.as_deref(),
            system.patch.as_deref(),
            system.patch_minor.as_deref(),
        ]);
        let mut os = serde_json::Map::new();
        os.insert("name".into(), Value::from(system.os.as_ref()));
        if let Some(v) = &v {
            os.insert("version".into(), Value::from(v.as_str()));
        }
        let full = match &v {
            Some(v) => format!("{} {v}", system.os),
            None => system.os.to_string(),
        };
        os.insert("full".into(), Value::from(full));
        parsed.os = serde_json::to_vec(&os).ok().map(Into::into);
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enriched(doc: Value) -> Value {
        let Value::Object(mut map) = doc else {
            unreachable!()
        };
        let mut added = Additions::default();
        UserAgents::default().add_to(&map, &mut added);
        added.apply(&mut map);
        Value::Object(map)
    }

    fn agent(ua: &str) -> Value {
        enriched(json!({"user_agent": {"original": ua}}))["user_agent"].clone()
    }

    #[test]
    fn the_bundled_expressions_compile() {
        compile().expect("pipeline/data/ua-regexes.json compiles");
    }

    #[test]
    fn a_browser_gets_its_name_version_and_operating_system() {
        assert_eq!(
            agent(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36"
            ),
            json!({
                "original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "name": "Chrome", "version": "131.0.0.0",
                "os": {"name": "Windows", "version": "10", "full": "Windows 10"}
            })
        );
        let iphone = agent(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
             (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(iphone["name"], "Mobile Safari");
        assert_eq!(
            iphone["os"],
            json!({"name": "iOS", "version": "18.1", "full": "iOS 18.1"})
        );
    }

    #[test]
    fn tools_and_sdks_are_recognised() {
        assert_eq!(agent("curl/8.5.0")["name"], "curl");
        assert_eq!(agent("curl/8.5.0")["version"], "8.5.0");
        let cli = agent("aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2 prompt/off");
        assert_eq!(cli["name"], "aws-cli");
        assert_eq!(cli["os"]["name"], "Linux");
    }

    #[test]
    fn an_unknown_agent_gets_no_field() {
        assert_eq!(
            agent("sqlmap/1.8.2#stable (https://sqlmap.org)"),
            json!({"original": "sqlmap/1.8.2#stable (https://sqlmap.org)"})
        );
        assert_eq!(agent(""), json!({"original": ""}));
    }

    #[test]
    fn what_the_log_says_is_kept() {
        let doc = enriched(json!({"user_agent": {"original": "curl/8.5.0", "name": "as logged"}}));
        assert_eq!(doc["user_agent"]["name"], "as logged");
        assert_eq!(doc["user_agent"]["version"], "8.5.0");
    }

    #[test]
    fn a_client_filled_header_is_not_parsed_and_costs_little() {
        let long = format!("Mozilla/5.0 ({})", "A".repeat(1 << 20));
        let started = std::time::Instant::now();
        assert_eq!(agent(&long)["name"], Value::Null);
        // Not parsed at all: far below what matching a mebibyte would take.
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // At the limit it is parsed, linearly.
        let at_limit = format!("curl/8.5.0 {}", "a".repeat(MAX_PARSED_BYTES - 11));
        assert_eq!(agent(&at_limit)["name"], "curl");
    }

    #[test]
    fn an_answer_is_kept_and_reused() {
        let agents = UserAgents::default();
        let doc = json!({"user_agent": {"original": "curl/8.5.0"}});
        let Value::Object(map) = doc else {
            unreachable!()
        };
        for _ in 0..2 {
            let mut added = Additions::default();
            assert!(agents.add_to(&map, &mut added).enriched);
        }
        assert_eq!(agents.cache.len(), 1);
    }
}
