//! Reading indicator lists: plain text (one indicator per line, `#`
//! comments), CSV (a header naming `indicator`/`type` columns, or the first
//! column), and STIX 2.1 bundles (indicator objects with simple patterns).
//!
//! An indicator is an IP address or CIDR block, a domain, or a file hash
//! (MD5, SHA-1, SHA-256, SHA-512). Anything else in a list (URLs, e-mail
//! addresses, compound STIX patterns) is skipped and counted, never an error:
//! one odd line must not cost the rest of a feed.

use serde_json::Value;

use super::net::Cidr;

/// The format of an indicator list (`enrich.threat_intel[].format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Text,
    Csv,
    Stix,
}

impl ListFormat {
    pub fn parse(text: &str) -> Result<ListFormat, String> {
        match text {
            "text" => Ok(ListFormat::Text),
            "csv" => Ok(ListFormat::Csv),
            "stix" => Ok(ListFormat::Stix),
            other => Err(format!(
                "{other:?} is not one of \"text\", \"csv\", \"stix\""
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashKind {
    /// The ECS `*.hash.<kind>` field name.
    pub fn field(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
            HashKind::Sha512 => "sha512",
        }
    }

    fn of_hex(value: &str) -> Option<HashKind> {
        if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        match value.len() {
            32 => Some(HashKind::Md5),
            40 => Some(HashKind::Sha1),
            64 => Some(HashKind::Sha256),
            128 => Some(HashKind::Sha512),
            _ => None,
        }
    }
}

/// What an indicator matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    Ip(Cidr),
    /// Lowercase, without a trailing dot.
    Domain(String),
    /// Lowercase hex.
    Hash(HashKind, String),
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub atom: Atom,
    /// The indicator as the list wrote it (`203.0.113.0/24`).
    pub name: String,
    pub description: Option<String>,
    pub confidence: Option<String>,
}

impl Indicator {
    fn new(atom: Atom, name: &str) -> Indicator {
        Indicator {
            atom,
            name: name.to_owned(),
            description: None,
            confidence: None,
        }
    }
}

/// A parsed list and how many entries were not indicators this pipeline matches.
#[derive(Debug, Default)]
pub struct Parsed {
    pub indicators: Vec<Indicator>,
    pub skipped: usize,
}

pub fn parse(text: &str, format: ListFormat) -> Result<Parsed, String> {
    match format {
        ListFormat::Text => Ok(parse_text(text)),
        ListFormat::Csv => Ok(parse_csv(text)),
        ListFormat::Stix => parse_stix(text),
    }
}

/// The indicator `value` is, read with an optional type hint from the list.
pub fn classify(value: &str, hint: Option<&str>) -> Option<Atom> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let hint = hint.map(str::to_ascii_lowercase);
    match hint.as_deref() {
        Some(h) if h.contains("url") || h.contains("email") || h.contains("mail") => None,
        Some(h) if h.contains("ip") || h.contains("cidr") || h.contains("net") => {
            Cidr::parse(value).ok().map(Atom::Ip)
        }
        Some(h) if h.contains("domain") || h.contains("host") || h.contains("fqdn") => {
            domain(value)
        }
        Some(h)
            if h.contains("md5")
                || h.contains("sha")
                || h.contains("hash")
                || h.contains("file") =>
        {
            hash(value)
        }
        _ => Cidr::parse(value)
            .ok()
            .map(Atom::Ip)
            .or_else(|| hash(value))
            .or_else(|| domain(value)),
    }
}

fn hash(value: &str) -> Option<Atom> {
    HashKind::of_hex(value).map(|k| Atom::Hash(k, value.to_ascii_lowercase()))
}

fn domain(value: &str) -> Option<Atom> {
    let d = value
        .trim_end_matches('.')
        .trim_start_matches("*.")
        .to_ascii_lowercase();
    let valid = d.contains('.')
        && !d.starts_with('.')
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    valid.then_some(Atom::Domain(d))
}

fn parse_text(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for line in text.lines() {
        // `#` starts a comment at the start of a line or after blanks.
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match classify(line, None) {
            Some(atom) => parsed.indicators.push(Indicator::new(atom, line)),
            None => parsed.skipped += 1,
        }
    }
    parsed
}

/// Splits one CSV line, honouring double quotes (`""` inside quotes is a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields.into_iter().map(|f| f.trim().to_owned()).collect()
}

fn parse_csv(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(first) = lines.next() else {
        return parsed;
    };
    let header: Vec<String> = csv_fields(first)
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let column = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let indicator_col = column(&["indicator", "value", "ioc"]);
    let type_col = column(&["type", "indicator_type", "ioc_type"]);
    let (value_col, first_is_data) = match indicator_col {
        Some(c) => (c, false),
        // No header naming the column: the first column, and the first line
        // is data when it holds an indicator.
        None => (0, classify(&csv_fields(first)[0], None).is_some()),
    };
    let first = first_is_data.then_some(first);
    for line in first.into_iter().chain(lines) {
        let fields = csv_fields(line);
        let Some(value) = fields.get(value_col).filter(|v| !v.is_empty()) else {
            parsed.skipped += 1;
            continue;
        };
        let hint = type_col
            .and_then(|c| fields.get(c))
            .map(String::as_str)
            .filter(|t| !t.is_empty());
        match classify(value, hint) {
            Some(atom) => parsed.indicators.push(Indicator::new(atom, value)),
            None => parsed.skipped += 1,
        }
    }
    parsed
}

fn parse_stix(text: &str) -> Result<Parsed, String> {
    let bundle: Value =
        serde_json::from_str(text).map_err(|e| format!("not a STIX 2.1 bundle (JSON): {e}"))?;
    let objects = match &bundle {
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("bundle") => o
            .get("objects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![bundle.clone()],
        _ => {
            return Err(
                "not a STIX 2.1 bundle: expected a JSON object with \"type\": \"bundle\"".into(),
            );
        }
    };
    let mut parsed = Parsed::default();
    for o in objects
        .iter()
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("indicator"))
    {
        let stix = o
            .get("pattern_type")
            .and_then(Value::as_str)
            .is_none_or(|t| t == "stix");
        let revoked = o.get("revoked").and_then(Value::as_bool) == Some(true);
        let Some(pattern) = o
            .get("pattern")
            .and_then(Value::as_str)
            .filter(|_| stix && !revoked)
        else {
            parsed.skipped += 1;
            continue;
        };
        let atoms = stix_pattern(pattern);
        if atoms.is_empty() {
            parsed.skipped += 1;
        }
        let text_of = |k: &str| match o.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        for (atom, value) in atoms {
            parsed.indicators.push(Indicator {
                atom,
                name: text_of("name").unwrap_or(value),
                description: text_of("description"),
                confidence: text_of("confidence"),
            });
        }
    }
    Ok(parsed)
}

/// The atoms of a pattern made of `=` comparisons joined by `OR`
/// (`[ipv4-addr:value = '203.0.113.5'] OR [domain-name:value = 'evil.example']`).
/// A pattern with `AND`, `FOLLOWEDBY`, qualifiers or other operators yields
/// nothing: it means more than one value being present.
fn stix_pattern(pattern: &str) -> Vec<(Atom, String)> {
    let upper = pattern.to_ascii_uppercase();
    if [" AND ", "FOLLOWEDBY", "WITHIN", "REPEATS", "START "]
        .iter()
        .any(|k| upper.contains(k))
    {
        return Vec::new();
    }
    let mut atoms = Vec::new();
    for comparison in pattern.split(" OR ") {
        let comparison = comparison
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim();
        let Some((path, value)) = comparison.split_once('=') else {
            return Vec::new();
        };
        let path = path.trim();
        let value = value.trim();
        if path.ends_with(['!', '<', '>'])
            || !(value.starts_with('\'') && value.ends_with('\'') && value.len() >= 2)
        {
            return Vec::new();
        }
        let value = value[1..value.len() - 1].replace("\\'", "'");
        let atom = match path {
            "ipv4-addr:value" | "ipv6-addr:value" => Cidr::parse(&value).ok().map(Atom::Ip),
            "domain-name:value" => domain(&value),
            p if p.starts_with("file:hashes.") => {
                let kind = p["file:hashes.".len()..]
                    .trim_matches(['\'', '"'])
                    .to_ascii_uppercase()
                    .replace('-', "");
                match kind.as_str() {
                    "MD5" => Some(HashKind::Md5),
                    "SHA1" => Some(HashKind::Sha1),
                    "SHA256" => Some(HashKind::Sha256),
                    "SHA512" => Some(HashKind::Sha512),
                    _ => None,
                }
                .filter(|k| HashKind::of_hex(&value) == Some(*k))
                .map(|k| Atom::Hash(k, value.to_ascii_lowercase()))
            }
            _ => None,
        };
        match atom {
            Some(a) => atoms.push((a, value)),
            None => return Vec::new(),
        }
    }
    atoms
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn atoms(p: &Parsed) -> Vec<&Atom> {
        p.indicators.iter().map(|i| &i.atom).collect()
    }

    fn cidr(s: &str) -> Atom {
        Atom::Ip(Cidr::parse(s).expect("cidr"))
    }

    #[test]
    fn text_lists_hold_one_indicator_per_line_with_comments() {
        let p = parse(
            &format!("# feodo\n203.0.113.5\n198.51.100.0/24  # a block\n\nEvil.Example.\n{SHA256}\nhttp://x/y\n"),
            ListFormat::Text,
        )
        .expect("parsed");
        assert_eq!(
            atoms(&p),
            [
                &cidr("203.0.113.5"),
                &cidr("198.51.100.0/24"),
                &Atom::Domain("evil.example".into()),
                &Atom::Hash(HashKind::Sha256, SHA256.into())
            ]
        );
        assert_eq!(
            p.skipped, 1,
            "the URL is not an indicator this pipeline matches"
        );
    }

    #[test]
    fn csv_lists_name_their_indicator_and_type_columns() {
        let p = parse(
            "first_seen,type,indicator\n2026-01-01,domain,evil.example\n2026-01-02,ip,\"203.0.113.5\"\n2026-01-03,url,http://x\n",
            ListFormat::Csv,
        )
        .expect("parsed");
        assert_eq!(
            atoms(&p),
            [&Atom::Domain("evil.example".into()), &cidr("203.0.113.5")]
        );
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn csv_lists_without_such_a_header_use_the_first_column() {
        let p = parse(
            "203.0.113.5,botnet\n198.51.100.1,scanner\n",
            ListFormat::Csv,
        )
        .expect("parsed");
        assert_eq!(atoms(&p), [&cidr("203.0.113.5"), &cidr("198.51.100.1")]);
        let p = parse("address,comment\n203.0.113.5,botnet\n", ListFormat::Csv).expect("parsed");
        assert_eq!(atoms(&p), [&cidr("203.0.113.5")]);
    }

    #[test]
    fn stix_bundles_yield_the_atoms_of_simple_patterns() {
        let bundle = serde_json::json!({"type": "bundle", "id": "bundle--1", "objects": [
            {"type": "indicator", "name": "C2", "confidence": 80, "pattern_type": "stix",
             "pattern": "[ipv4-addr:value = '203.0.113.5']"},
            {"type": "indicator", "pattern": "[domain-name:value = 'evil.example'] OR [ipv6-addr:value = '2001:db8::/32']"},
            {"type": "indicator", "pattern": format!("[file:hashes.'SHA-256' = '{SHA256}']")},
            {"type": "indicator", "pattern": "[ipv4-addr:value = '1.2.3.4' AND network-traffic:dst_port = 443]"},
            {"type": "indicator", "pattern_type": "sigma", "pattern": "title: x"},
            {"type": "indicator", "revoked": true, "pattern": "[ipv4-addr:value = '198.51.100.9']"},
            {"type": "malware", "name": "not an indicator"}
        ]});
        let p = parse(&bundle.to_string(), ListFormat::Stix).expect("parsed");
        assert_eq!(
            atoms(&p),
            [
                &cidr("203.0.113.5"),
                &Atom::Domain("evil.example".into()),
                &cidr("2001:db8::/32"),
                &Atom::Hash(HashKind::Sha256, SHA256.into())
            ]
        );
        assert_eq!(p.indicators[0].name, "C2");
        assert_eq!(p.indicators[0].confidence.as_deref(), Some("80"));
        assert_eq!(p.skipped, 3);
    }

    #[test]
    fn a_stix_file_that_is_not_json_is_an_error() {
        assert!(
            parse("203.0.113.5", ListFormat::Stix)
                .expect_err("not JSON")
                .contains("STIX")
        );
    }
}
