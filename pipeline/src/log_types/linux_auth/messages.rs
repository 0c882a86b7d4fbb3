//! What an auth message says, in ECS: the messages of sshd, sudo, su, PAM
//! (`pam_unix(<service>:<type>)` and `pam_succeed_if(…)` from any program,
//! and libpam's own `PAM …`) and the shadow-utils tools
//! (useradd, usermod, userdel, groupadd, groupdel, passwd). A message nobody
//! recognises describes nothing and is indexed with its text only.
//!
//! Conventions:
//! - `event.action` is a short snake_case verb of our own (`ssh_login`,
//!   `sudo`, `su`, `session_opened`, `user_created`, …): the raw texts vary by
//!   version and distribution, the action does not;
//! - `user.name` is who acted; `user.effective.name` whom they acted as (sudo's
//!   `USER=`, su's target, the user of a PAM session opened by someone else);
//!   `user.target.name` the account an IAM tool changed;
//! - `process.name`/`process.pid` are the program that logged (from the syslog
//!   header): for a sudo line that is `sudo`, and the command it ran as the
//!   target user is `process.command_line` and `process.args` (the words of
//!   the command as logged), with `process.working_directory` from `PWD=`;
//! - an authentication attempt is one document: `event.category:
//!   [authentication]`, `event.type: [start]` and `event.outcome`, as ECS's
//!   own examples do. Only the program that authenticates writes one line per
//!   attempt: sshd's `Accepted …`/`Failed METHOD for …` (one per userauth
//!   request it answers) and su's result. The lines around an attempt are
//!   `event.type: [info]` without an outcome, so that counting attempts
//!   counts each once: pam_unix's `authentication failure` (the first failure
//!   of a PAM handle only) and `N more authentication failures` (the rest,
//!   when the handle ends), pam_succeed_if's requirements (one per attempt,
//!   beside sshd's line), sshd's `Invalid user` (once per connection, before
//!   its `Failed … for invalid user` lines), its `maximum authentication
//!   attempts exceeded` (after the last attempt's line) and `Failed none`
//!   (the client asking which methods it may use; sshd counts no failure for
//!   it either).

use std::net::IpAddr;

use crate::ecs::{EcsDocument, Related};

/// The categorization of one recognised message.
struct Event {
    action: &'static str,
    category: &'static str,
    types: Vec<&'static str>,
    outcome: Option<&'static str>,
}

impl Event {
    fn new(
        action: &'static str,
        category: &'static str,
        types: &[&'static str],
        outcome: Option<&'static str>,
    ) -> Self {
        Event {
            action,
            category,
            types: types.to_vec(),
            outcome,
        }
    }
}

/// Writes what `message` (logged by `program`) says into `doc`.
/// Returns whether the message was recognised.
pub fn describe(
    program: Option<&str>,
    message: &str,
    doc: &mut EcsDocument,
    related: &mut Related,
) -> bool {
    let message = message.trim();
    let event = if let Some((module, text)) = pam_message(message) {
        pam(module, text, doc, related)
    } else {
        match program.unwrap_or_default() {
            "sshd" | "sshd-session" => sshd(message, doc, related),
            "sudo" => sudo(message, doc, related),
            "su" => su(message, doc, related),
            "useradd" | "usermod" | "userdel" | "groupadd" | "groupdel" | "groupmod" | "passwd"
            | "chpasswd" | "gpasswd" => shadow_utils(message, doc, related),
            _ => None,
        }
    };
    let Some(event) = event else { return false };
    doc.set("event.action", event.action);
    doc.set("event.category", vec![event.category]);
    doc.set("event.type", event.types);
    doc.set_opt("event.outcome", event.outcome);
    true
}

fn user(doc: &mut EcsDocument, related: &mut Related, path: &str, name: Option<&str>) {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    doc.set_opt(path, name);
    related.user(name);
}

/// `IP port N…`, `IP`, or a host name (only an IP sets `source.ip`).
fn source(doc: &mut EcsDocument, related: &mut Related, endpoint: &str) {
    let mut words = endpoint.split_whitespace();
    let Some(address) = words.next().map(|a| a.trim_end_matches([':', ','])) else {
        return;
    };
    doc.set("source.address", address);
    if let Ok(ip) = address.parse::<IpAddr>() {
        doc.set("source.ip", ip.to_string());
        related.ip(Some(address));
    } else {
        doc.set("source.domain", address);
        related.host(Some(address));
    }
    if words.next() == Some("port") {
        // `41003`, `41003:11:` (Received disconnect), `41003,`.
        let port = words.next().map(|p| {
            p.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or_default()
        });
        doc.set_opt("source.port", port.and_then(|p| p.parse::<u16>().ok()));
    }
}

/// `[invalid user |authenticating user |user ]USER from ENDPOINT`.
fn user_from(s: &str) -> Option<(&str, &str)> {
    let (user, endpoint) = s.rsplit_once(" from ")?;
    Some((strip_user_prefix(user), endpoint))
}

fn strip_user_prefix(s: &str) -> &str {
    [
        "invalid user ",
        "illegal user ",
        "authenticating user ",
        "user ",
    ]
    .iter()
    .find_map(|p| s.strip_prefix(p))
    .unwrap_or(s)
}

/// `[invalid user |authenticating user |user ]USER IP port N`, `IP port N`
/// or `IP`: the address is the word before `port`.
fn peer(doc: &mut EcsDocument, related: &mut Related, s: &str) {
    let s = strip_user_prefix(s.trim());
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.iter().position(|w| *w == "port") {
        Some(i) if i >= 1 => {
            if i >= 2 {
                user(doc, related, "user.name", Some(&words[..i - 1].join(" ")));
            }
            source(doc, related, &words[i - 1..].join(" "));
        }
        _ => source(doc, related, s),
    }
}

fn sshd(m: &str, doc: &mut EcsDocument, related: &mut Related) -> Option<Event> {
    if let Some(rest) = m.strip_prefix("Accepted ") {
        let (_method, rest) = rest.split_once(" for ")?;
        let (name, endpoint) = user_from(rest)?;
        user(doc, related, "user.name", Some(name));
        source(doc, related, endpoint);
        return Some(Event::new(
            "ssh_login",
            "authentication",
            &["start"],
            Some("success"),
        ));
    }
    if let Some(rest) = m.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ")?;
        let (name, endpoint) = user_from(rest)?;
        user(doc, related, "user.name", Some(name));
        source(doc, related, endpoint);
        if method == "none" {
            return Some(Event::new(
                "ssh_auth_methods_query",
                "authentication",
                &["info"],
                None,
            ));
        }
        return Some(Event::new(
            "ssh_login",
            "authentication",
            &["start"],
            Some("failure"),
        ));
    }
    if let Some(rest) = m.strip_prefix("Invalid user ") {
        let (name, endpoint) = rest.rsplit_once(" from ")?;
        user(doc, related, "user.name", Some(name));
        source(doc, related, endpoint);
        return Some(Event::new(
            "ssh_invalid_user",
            "authentication",
            &["info"],
            None,
        ));
    }
    if let Some(rest) = m.strip_prefix("error: maximum authentication attempts exceeded for ") {
        let (name, endpoint) = user_from(rest)?;
        user(doc, related, "user.name", Some(name));
        source(doc, related, endpoint);
        return Some(Event::new(
            "ssh_max_auth_attempts",
            "authentication",
            &["info"],
            None,
        ));
    }
    let closed = [
        "Disconnected from ",
        "Connection closed by ",
        "Connection reset by ",
    ]
    .iter()
    .find_map(|p| m.strip_prefix(p));
    if let Some(rest) = closed {
        peer(doc, related, rest);
        return Some(Event::new(
            "ssh_disconnect",
            "network",
            &["connection", "end"],
            None,
        ));
    }
    // `Disconnecting authenticating user root IP port N: Too many
    // authentication failures [preauth]`; before OpenSSH 7.6 no peer:
    // `Disconnecting: Too many authentication failures [preauth]`.
    if let Some((who, reason)) = m
        .strip_prefix("Disconnecting")
        .and_then(|r| r.split_once(": "))
    {
        peer(doc, related, who);
        let reason = reason.trim_end_matches("[preauth]").trim();
        doc.set_opt("event.reason", Some(reason).filter(|r| !r.is_empty()));
        return Some(Event::new(
            "ssh_disconnect",
            "network",
            &["connection", "end"],
            None,
        ));
    }
    if let Some(rest) = m.strip_prefix("Received disconnect from ") {
        source(doc, related, rest);
        return Some(Event::new(
            "ssh_disconnect",
            "network",
            &["connection", "end"],
            None,
        ));
    }
    if let Some(rest) = m.strip_prefix("Did not receive identification string from ") {
        source(doc, related, rest);
        return Some(Event::new(
            "ssh_no_identification",
            "network",
            &["connection"],
            None,
        ));
    }
    if m.contains("POSSIBLE BREAK-IN ATTEMPT") {
        // `reverse mapping checking getaddrinfo for HOST [IP] failed …` or
        // `Address IP maps to HOST, but this does not map back …`.
        let ip = m
            .split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(ip, _)| ip)
            .or_else(|| {
                m.strip_prefix("Address ")
                    .and_then(|r| r.split_whitespace().next())
            });
        if let Some(ip) = ip {
            source(doc, related, ip);
        }
        return Some(Event::new(
            "ssh_possible_break_in",
            "intrusion_detection",
            &["info"],
            None,
        ));
    }
    None
}

/// `USER : [REASON ; ]TTY=… ; PWD=… ; USER=… ; COMMAND=…`
fn sudo(m: &str, doc: &mut EcsDocument, related: &mut Related) -> Option<Event> {
    let (name, rest) = m.split_once(" : ")?;
    let (fields, command) = match rest.split_once("COMMAND=") {
        Some((fields, command)) => (fields, Some(command.trim())),
        None => (rest, None),
    };
    let mut reason = None;
    let mut target = None;
    let mut saw_field = false;
    for part in fields.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("TTY", _)) => saw_field = true,
            Some(("PWD", pwd)) => {
                saw_field = true;
                doc.set("process.working_directory", pwd);
            }
            Some(("USER", user)) => {
                saw_field = true;
                target = Some(user);
            }
            Some(_) => saw_field = true,
            None => reason = Some(part),
        }
    }
    if !saw_field && command.is_none() {
        return None;
    }
    user(doc, related, "user.name", Some(name));
    user(doc, related, "user.effective.name", target);
    // sudo joins the arguments with spaces and quotes none: an argument that
    // held a space comes out as two, which the line cannot tell apart.
    if let Some(command) = command.filter(|c| !c.is_empty()) {
        doc.set("process.command_line", command);
        doc.set(
            "process.args",
            command.split_whitespace().collect::<Vec<_>>(),
        );
    }
    doc.set_opt("event.reason", reason);
    let outcome = if reason.is_some() {
        "failure"
    } else {
        "success"
    };
    Some(Event::new("sudo", "process", &["start"], Some(outcome)))
}

fn su(m: &str, doc: &mut EcsDocument, related: &mut Related) -> Option<Event> {
    // Debian: `Successful su for TARGET by USER` / `FAILED su for TARGET by USER`.
    for (prefix, outcome) in [
        ("Successful su for ", "success"),
        ("FAILED su for ", "failure"),
    ] {
        if let Some((target, name)) = m.strip_prefix(prefix).and_then(|r| r.split_once(" by ")) {
            user(doc, related, "user.name", Some(name));
            user(doc, related, "user.effective.name", Some(target));
            return Some(Event::new(
                "su",
                "authentication",
                &["start"],
                Some(outcome),
            ));
        }
    }
    // util-linux: `(to TARGET) USER on TTY` / `FAILED SU (to TARGET) USER on TTY`.
    let (rest, outcome) = match m.strip_prefix("FAILED SU ") {
        Some(rest) => (rest, "failure"),
        None => (m, "success"),
    };
    let (target, rest) = rest.strip_prefix("(to ")?.split_once(") ")?;
    let name = rest.split_once(" on ").map_or(rest, |(n, _)| n);
    user(doc, related, "user.name", Some(name));
    user(doc, related, "user.effective.name", Some(target));
    Some(Event::new(
        "su",
        "authentication",
        &["start"],
        Some(outcome),
    ))
}

/// `NAME(uid=N)` → `NAME`; `(uid=0)` → empty.
fn without_uid(s: &str) -> &str {
    s.split_once('(').map_or(s, |(n, _)| n).trim()
}

/// `MODULE(SERVICE:TYPE): TEXT` → `(MODULE, TEXT)`. What a module logs
/// while libpam ends the handle has no module name: `PAM TEXT` → `("", TEXT)`.
fn pam_message(m: &str) -> Option<(&str, &str)> {
    if let Some(text) = m.strip_prefix("PAM ") {
        return Some(("", text));
    }
    let (head, text) = m.split_once("): ")?;
    let (module, _service) = head.split_once('(')?;
    (module.starts_with("pam_") && !module.contains(char::is_whitespace)).then_some((module, text))
}

fn pam(module: &str, text: &str, doc: &mut EcsDocument, related: &mut Related) -> Option<Event> {
    match module {
        "pam_unix" | "" => pam_unix(text, doc, related),
        "pam_succeed_if" => pam_succeed_if(text, doc, related),
        _ => None,
    }
}

/// `requirement "EXPR" not met by user "USER"` (or `was met`): a condition
/// of the PAM stack on the account, checked for each attempt.
fn pam_succeed_if(text: &str, doc: &mut EcsDocument, related: &mut Related) -> Option<Event> {
    let (requirement, name) = text
        .strip_prefix("requirement ")?
        .rsplit_once(" by user ")?;
    let action = if requirement.ends_with(" not met") {
        "pam_requirement_not_met"
    } else if requirement.ends_with(" was met") {
        "pam_requirement_met"
    } else {
        return None;
    };
    user(
        doc,
        related,
        "user.name",
        Some(name.trim().trim_matches('"')),
    );
    Some(Event::new(action, "authentication", &["info"], None))
}

fn pam_unix(text: &str, doc: &mut EcsDocument, related: &mut Related) -> Option<Event> {
    for (prefix, action, kind) in [
        ("session opened for user ", "session_opened", "start"),
        ("session closed for user ", "session_closed", "end"),
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let (session_user, by) = match rest.split_once(" by ") {
                Some((u, by)) => (without_uid(u), without_uid(by)),
                None => (without_uid(rest), ""),
            };
            if by.is_empty() || by == session_user {
                user(doc, related, "user.name", Some(session_user));
            } else {
                user(doc, related, "user.name", Some(by));
                user(doc, related, "user.effective.name", Some(session_user));
            }
            return Some(Event::new(action, "session", &[kind], Some("success")));
        }
    }
    // pam_unix records the first failure of a PAM handle and counts the
    // others when the handle ends: the attempts are the application's lines.
    if let Some(rest) = text.strip_prefix("authentication failure;") {
        failure_record(doc, related, rest);
        return Some(Event::new(
            "authentication_failure",
            "authentication",
            &["info"],
            None,
        ));
    }
    if let Some(rest) = more_failures(text) {
        failure_record(doc, related, rest);
        return Some(Event::new(
            "more_authentication_failures",
            "authentication",
            &["info"],
            None,
        ));
    }
    if let Some(name) = text.strip_prefix("password changed for ") {
        user(doc, related, "user.target.name", Some(name));
        return Some(Event::new(
            "password_changed",
            "iam",
            &["user", "change"],
            Some("success"),
        ));
    }
    None
}

/// `N more authentication failure[s]; …` → `…`.
fn more_failures(text: &str) -> Option<&str> {
    let (count, rest) = text.split_once(' ')?;
    count.parse::<u32>().ok()?;
    let rest = rest.strip_prefix("more authentication failure")?;
    rest.strip_prefix("s;").or_else(|| rest.strip_prefix(';'))
}

/// `logname=… uid=… euid=… tty=… ruser=… rhost=… [user=…]` of pam_unix's
/// failure records.
fn failure_record(doc: &mut EcsDocument, related: &mut Related, rest: &str) {
    let field = |key: &str| {
        rest.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .filter(|v| !v.is_empty())
    };
    // `user` is the account authenticated; `ruser`, when set and
    // different (su, sudo), the real user asking to become it.
    match (field("user"), field("ruser")) {
        (Some(account), Some(real)) if account != real => {
            user(doc, related, "user.name", Some(real));
            user(doc, related, "user.effective.name", Some(account));
        }
        (account, real) => user(
            doc,
            related,
            "user.name",
            account.or(real).or(field("logname")),
        ),
    }
    if let Some(rhost) = field("rhost") {
        source(doc, related, rhost);
    }
}

/// The text between the first pair of single quotes after `prefix`.
fn quoted<'a>(m: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = m.strip_prefix(prefix)?.strip_prefix('\'')?;
    rest.split_once('\'')
}

/// `key=value, key=value` lists of useradd and groupadd.
fn kv<'a>(m: &'a str, key: &str) -> Option<&'a str> {
    m.split(',')
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

fn shadow_utils(m: &str, doc: &mut EcsDocument, related: &mut Related) -> Option<Event> {
    if let Some(rest) = m.strip_prefix("new user: ") {
        user(doc, related, "user.target.name", kv(rest, "name"));
        doc.set_opt("user.target.id", kv(rest, "UID"));
        doc.set_opt("group.id", kv(rest, "GID"));
        return Some(Event::new(
            "user_created",
            "iam",
            &["user", "creation"],
            Some("success"),
        ));
    }
    if let Some(rest) = m.strip_prefix("new group: ") {
        doc.set_opt("group.name", kv(rest, "name"));
        doc.set_opt("group.id", kv(rest, "GID"));
        return Some(Event::new(
            "group_created",
            "iam",
            &["group", "creation"],
            Some("success"),
        ));
    }
    if let Some((name, rest)) = quoted(m, "add ") {
        let group = quoted(rest.trim_start(), "to group ")
            .or_else(|| quoted(rest.trim_start(), "to shadow group "));
        user(doc, related, "user.target.name", Some(name));
        doc.set_opt("group.name", group.map(|(g, _)| g));
        return Some(Event::new(
            "user_added_to_group",
            "iam",
            &["group", "change"],
            Some("success"),
        ));
    }
    if let Some((name, _)) = quoted(m, "delete user ") {
        user(doc, related, "user.target.name", Some(name));
        return Some(Event::new(
            "user_deleted",
            "iam",
            &["user", "deletion"],
            Some("success"),
        ));
    }
    if let Some((group, _)) =
        quoted(m, "group ").filter(|(_, rest)| rest.trim_start().starts_with("removed"))
    {
        doc.set("group.name", group);
        return Some(Event::new(
            "group_deleted",
            "iam",
            &["group", "deletion"],
            Some("success"),
        ));
    }
    if let Some((group, _)) = quoted(m, "removed group ") {
        doc.set("group.name", group);
        return Some(Event::new(
            "group_deleted",
            "iam",
            &["group", "deletion"],
            Some("success"),
        ));
    }
    for prefix in ["change user ", "lock user ", "unlock user "] {
        if let Some((name, _)) = quoted(m, prefix) {
            user(doc, related, "user.target.name", Some(name));
            return Some(Event::new(
                "user_changed",
                "iam",
                &["user", "change"],
                Some("success"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn describe_doc(program: &str, message: &str) -> Option<Value> {
        let mut doc = EcsDocument::default();
        let mut related = Related::default();
        let recognised = describe(Some(program), message, &mut doc, &mut related);
        related.write_to(&mut doc);
        recognised.then(|| Value::Object(doc.into_map()))
    }

    fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
        path.split('.')
            .fold(v, |v, p| v.get(p).unwrap_or(&Value::Null))
    }

    #[test]
    fn accepted_publickey_is_a_successful_ssh_login() {
        let d = describe_doc(
            "sshd",
            "Accepted publickey for alice from 198.51.100.4 port 50022 ssh2: ED25519 SHA256:abc",
        )
        .expect("recognised");
        assert_eq!(at(&d, "event.action"), "ssh_login");
        assert_eq!(at(&d, "event.outcome"), "success");
        assert_eq!(at(&d, "event.category"), &json!(["authentication"]));
        assert_eq!(at(&d, "user.name"), "alice");
        assert_eq!(at(&d, "source.ip"), "198.51.100.4");
        assert_eq!(at(&d, "source.port"), 50022);
    }

    #[test]
    fn failed_password_for_an_invalid_user_names_the_user_tried() {
        let d = describe_doc(
            "sshd",
            "Failed password for invalid user admin from 203.0.113.50 port 41000 ssh2",
        )
        .expect("recognised");
        assert_eq!(at(&d, "event.outcome"), "failure");
        assert_eq!(at(&d, "user.name"), "admin");
        assert_eq!(at(&d, "related.ip"), &json!(["203.0.113.50"]));
    }

    #[test]
    fn invalid_user_without_port_is_read() {
        let d = describe_doc("sshd", "Invalid user test from 192.0.2.7").expect("recognised");
        assert_eq!(at(&d, "event.action"), "ssh_invalid_user");
        assert_eq!(at(&d, "source.ip"), "192.0.2.7");
        assert_eq!(at(&d, "source.port"), &Value::Null);
    }

    #[test]
    fn preauth_disconnects_name_the_user_and_the_address() {
        let d = describe_doc(
            "sshd",
            "Disconnected from invalid user admin 203.0.113.50 port 41000 [preauth]",
        )
        .expect("recognised");
        assert_eq!(at(&d, "user.name"), "admin");
        assert_eq!(at(&d, "source.port"), 41000);
        let d = describe_doc(
            "sshd",
            "Connection closed by 203.0.113.50 port 41002 [preauth]",
        )
        .expect("recognised");
        assert_eq!(at(&d, "user"), &Value::Null);
        assert_eq!(at(&d, "source.ip"), "203.0.113.50");
        let d = describe_doc(
            "sshd",
            "Received disconnect from 203.0.113.50 port 41003:11: Bye Bye [preauth]",
        )
        .expect("recognised");
        assert_eq!(at(&d, "source.port"), 41003);
    }

    #[test]
    fn break_in_attempts_carry_the_address() {
        let d = describe_doc(
            "sshd",
            "reverse mapping checking getaddrinfo for host.example.com [203.0.113.77] failed - POSSIBLE BREAK-IN ATTEMPT!",
        )
        .expect("recognised");
        assert_eq!(at(&d, "event.category"), &json!(["intrusion_detection"]));
        assert_eq!(at(&d, "source.ip"), "203.0.113.77");
    }

    #[test]
    fn a_sudo_line_is_logged_by_sudo_and_runs_its_command_as_the_target_user() {
        let d = describe_doc(
            "sudo",
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat /etc/shadow",
        )
        .expect("recognised");
        assert_eq!(at(&d, "user.name"), "alice");
        assert_eq!(at(&d, "user.effective.name"), "root");
        assert_eq!(at(&d, "related.user"), &json!(["alice", "root"]));
        assert_eq!(at(&d, "process.command_line"), "/bin/cat /etc/shadow");
        assert_eq!(at(&d, "process.args"), &json!(["/bin/cat", "/etc/shadow"]));
        assert_eq!(at(&d, "process.working_directory"), "/home/alice");
        // The program that logged is the syslog header's, not the command's.
        assert_eq!(at(&d, "process.name"), &Value::Null);
        assert_eq!(at(&d, "process.executable"), &Value::Null);
        assert_eq!(at(&d, "process.parent"), &Value::Null);
        assert_eq!(at(&d, "event.outcome"), "success");
    }

    #[test]
    fn sudo_refusals_are_failures_with_their_reason() {
        let d = describe_doc("sudo", "     tsg : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/tsg ; USER=root ; COMMAND=/bin/ls")
            .expect("recognised");
        assert_eq!(at(&d, "user.name"), "tsg");
        assert_eq!(at(&d, "event.outcome"), "failure");
        assert_eq!(at(&d, "event.reason"), "user NOT in sudoers");
    }

    #[test]
    fn su_in_both_spellings() {
        let d = describe_doc("su", "(to root) alice on pts/0").expect("recognised");
        assert_eq!(
            (at(&d, "user.name"), at(&d, "user.effective.name")),
            (&json!("alice"), &json!("root"))
        );
        let d = describe_doc("su", "FAILED su for root by bob").expect("recognised");
        assert_eq!(at(&d, "event.outcome"), "failure");
        assert_eq!(at(&d, "user.name"), "bob");
    }

    #[test]
    fn pam_sessions_open_and_close() {
        let d = describe_doc(
            "sshd",
            "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
        )
        .expect("recognised");
        assert_eq!(at(&d, "event.type"), &json!(["start"]));
        assert_eq!(at(&d, "user.name"), "alice");
        let d = describe_doc(
            "su",
            "pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)",
        )
        .expect("recognised");
        assert_eq!(at(&d, "user.name"), "alice");
        assert_eq!(at(&d, "user.effective.name"), "root");
        let d = describe_doc(
            "sshd",
            "pam_unix(sshd:session): session closed for user alice",
        )
        .expect("recognised");
        assert_eq!(at(&d, "event.type"), &json!(["end"]));
    }

    #[test]
    fn pam_authentication_failures_name_user_and_remote_host() {
        let d = describe_doc(
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.50  user=root",
        )
        .expect("recognised");
        assert_eq!(at(&d, "user.name"), "root");
        assert_eq!(at(&d, "source.ip"), "203.0.113.50");
        let d = describe_doc(
            "su",
            "pam_unix(su:auth): authentication failure; logname=deploy uid=1001 euid=0 tty=pts/1 ruser=deploy rhost=  user=root",
        )
        .expect("recognised");
        assert_eq!(at(&d, "user.name"), "deploy");
        assert_eq!(at(&d, "user.effective.name"), "root");
    }

    #[test]
    fn a_pam_succeed_if_line_names_the_user() {
        let d = describe_doc(
            "sshd",
            r#"pam_succeed_if(sshd:auth): requirement "uid >= 1000" not met by user "root""#,
        )
        .expect("recognised");
        assert_eq!(at(&d, "user.name"), "root");
        assert_eq!(at(&d, "related.user"), &json!(["root"]));
        assert_eq!(at(&d, "event.action"), "pam_requirement_not_met");
        assert_eq!(at(&d, "event.category"), &json!(["authentication"]));
        assert_eq!(at(&d, "event.type"), &json!(["info"]));
        let d = describe_doc("sudo", r#"pam_succeed_if(sudo:account): requirement "user ingroup wheel" was met by user "alice""#)
            .expect("recognised");
        assert_eq!(at(&d, "user.name"), "alice");
        assert_eq!(at(&d, "event.action"), "pam_requirement_met");
    }

    #[test]
    fn other_pam_modules_and_look_alike_texts_are_not_recognised() {
        assert!(
            describe_doc(
                "sshd",
                "pam_systemd(sshd:session): Failed to create session: Connection refused"
            )
            .is_none()
        );
        assert!(
            describe_doc(
                "sshd",
                r#"pam_succeed_if(sshd:auth): requirement "uid >= 1000" by user"#
            )
            .is_none()
        );
        assert!(describe_doc("sshd", "pam_succeed_if(sshd:auth): requirement").is_none());
        assert!(describe_doc("cron", "some text (with a parenthesis): and a colon").is_none());
    }

    /// Categorized as authentication, but not as an attempt of its own.
    fn assert_reports_on_attempts(program: &str, message: &str) -> Value {
        let d =
            describe_doc(program, message).unwrap_or_else(|| panic!("not recognised: {message}"));
        assert_eq!(
            at(&d, "event.category"),
            &json!(["authentication"]),
            "{message}"
        );
        assert_eq!(at(&d, "event.type"), &json!(["info"]), "{message}");
        assert_eq!(at(&d, "event.outcome"), &Value::Null, "{message}");
        d
    }

    #[test]
    fn pam_summary_lines_are_not_login_attempts() {
        let d = assert_reports_on_attempts(
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.70  user=root",
        );
        assert_eq!(at(&d, "event.action"), "authentication_failure");
        let d = assert_reports_on_attempts(
            "sshd",
            "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.70  user=root",
        );
        assert_eq!(at(&d, "event.action"), "more_authentication_failures");
        assert_eq!(at(&d, "user.name"), "root");
        assert_eq!(at(&d, "source.ip"), "203.0.113.70");
        let d = assert_reports_on_attempts(
            "sudo",
            "pam_unix(sudo:auth): 1 more authentication failure; logname=bob uid=1117 euid=0 tty=/dev/pts/1 ruser=alice rhost=  user=root",
        );
        assert_eq!(
            (at(&d, "user.name"), at(&d, "user.effective.name")),
            (&json!("alice"), &json!("root"))
        );
        let requirement =
            r#"pam_succeed_if(sshd:auth): requirement "uid >= 1000" not met by user "root""#;
        assert_reports_on_attempts("sshd", requirement);
        assert!(describe_doc("sshd", "PAM x more authentication failures; user=root").is_none());
    }

    #[test]
    fn sshd_lines_around_the_attempts_are_not_login_attempts() {
        let d = assert_reports_on_attempts(
            "sshd",
            "error: maximum authentication attempts exceeded for root from 203.0.113.70 port 53110 ssh2 [preauth]",
        );
        assert_eq!(at(&d, "source.port"), 53110);
        let d =
            assert_reports_on_attempts("sshd", "Invalid user admin from 203.0.113.71 port 40222");
        assert_eq!(at(&d, "user.name"), "admin");
        let d = assert_reports_on_attempts(
            "sshd",
            "Failed none for invalid user admin from 203.0.113.71 port 40222 ssh2",
        );
        assert_eq!(at(&d, "event.action"), "ssh_auth_methods_query");
        assert_eq!(at(&d, "user.name"), "admin");
    }

    #[test]
    fn a_disconnect_for_too_many_failures_names_the_peer_and_the_reason() {
        let d = describe_doc(
            "sshd",
            "Disconnecting authenticating user root 203.0.113.70 port 53110: Too many authentication failures [preauth]",
        )
        .expect("recognised");
        assert_eq!(at(&d, "event.action"), "ssh_disconnect");
        assert_eq!(at(&d, "event.category"), &json!(["network"]));
        assert_eq!(at(&d, "event.reason"), "Too many authentication failures");
        assert_eq!(at(&d, "user.name"), "root");
        assert_eq!(at(&d, "source.port"), 53110);
        let d = describe_doc(
            "sshd",
            "Disconnecting: Too many authentication failures [preauth]",
        )
        .expect("recognised");
        assert_eq!(at(&d, "source"), &Value::Null);
        assert_eq!(at(&d, "event.reason"), "Too many authentication failures");
        assert!(describe_doc("sshd", "Disconnecting").is_none());
    }

    #[test]
    fn account_management_is_iam() {
        let d = describe_doc("useradd", "new user: name=deploy, UID=1001, GID=1001, home=/home/deploy, shell=/bin/bash, from=/dev/pts/0")
            .expect("recognised");
        assert_eq!(at(&d, "event.type"), &json!(["user", "creation"]));
        assert_eq!(at(&d, "user.target.name"), "deploy");
        assert_eq!(at(&d, "user.target.id"), "1001");
        let d = describe_doc("groupadd", "new group: name=deploy, GID=1001").expect("recognised");
        assert_eq!(at(&d, "group.name"), "deploy");
        let d = describe_doc("usermod", "add 'deploy' to group 'wheel'").expect("recognised");
        assert_eq!(at(&d, "group.name"), "wheel");
        let d = describe_doc("userdel", "delete user 'deploy'").expect("recognised");
        assert_eq!(at(&d, "event.type"), &json!(["user", "deletion"]));
        let d = describe_doc("groupdel", "group 'deploy' removed").expect("recognised");
        assert_eq!(at(&d, "event.type"), &json!(["group", "deletion"]));
    }

    #[test]
    fn an_unknown_message_is_not_recognised() {
        assert!(describe_doc("sshd", "Server listening on 0.0.0.0 port 22.").is_none());
        assert!(describe_doc("cron", "(root) CMD (run-parts /etc/cron.hourly)").is_none());
    }
}
