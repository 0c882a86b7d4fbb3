//! `cloud.account.name` from `cloud.account.id`: names from the config's
//! `[enrich.account_names]` table and from an AWS Organizations export
//! (`aws organizations list-accounts` JSON, `enrich.accounts_file`); the
//! config's names win.
//!
//! Never overwrites a name the log set, and never guesses one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::Outcome;
use super::additions::{Additions, Json, push_str};
use super::source::Reloadable;

/// An account id → name map. Each name is kept as the JSON string a
/// document gets, rendered once.
#[derive(Debug, Default)]
pub struct AccountNames(HashMap<String, Arc<[u8]>, foldhash::fast::RandomState>);

impl AccountNames {
    fn get(&self, id: &str) -> Option<&Arc<[u8]>> {
        self.0.get(id)
    }
}

impl FromIterator<(String, String)> for AccountNames {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(names: I) -> AccountNames {
        AccountNames(
            names
                .into_iter()
                // An empty name says nothing (and would hide the export's).
                .filter(|(_, name)| !name.is_empty())
                .map(|(id, name)| {
                    let mut json = Vec::with_capacity(name.len() + 2);
                    push_str(&mut json, &name);
                    (id, Arc::from(json))
                })
                .collect(),
        )
    }
}

#[derive(Debug)]
pub struct Accounts {
    /// From the config: fixed.
    pub configured: AccountNames,
    /// From `enrich.accounts_file`, reloaded when it changes.
    pub file: Option<Reloadable<AccountNames>>,
}

#[derive(Deserialize)]
struct ListAccounts {
    #[serde(rename = "Accounts")]
    accounts: Vec<Account>,
}

#[derive(Deserialize)]
struct Account {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: Option<String>,
}

/// Parses `aws organizations list-accounts` output.
pub fn parse_organizations_export(text: &str) -> Result<AccountNames, String> {
    let list: ListAccounts = serde_json::from_str(text)
        .map_err(|e| format!("not an `aws organizations list-accounts` export ({{\"Accounts\":[{{\"Id\":…,\"Name\":…}}]}}): {e}"))?;
    Ok(list
        .accounts
        .into_iter()
        .filter_map(|a| Some((a.id, a.name.filter(|n| !n.is_empty())?)))
        .collect())
}

pub fn load_organizations_export(path: &Path) -> Result<AccountNames, String> {
    parse_organizations_export(&std::fs::read_to_string(path).map_err(|e| e.to_string())?)
}

impl Accounts {
    /// Fills `cloud.account.name` in `doc`.
    pub fn enrich(&self, doc: &mut Map<String, Value>) -> Outcome {
        let mut added = Additions::default();
        let outcome = self.add_to(doc, &mut added);
        added.apply(doc);
        outcome
    }

    /// Adds `cloud.account.name` of `doc` to `added`.
    pub fn add_to(&self, doc: &Map<String, Value>, added: &mut Additions) -> Outcome {
        let Some(Value::Object(account)) = doc.get("cloud").and_then(|c| c.get("account")) else {
            return Outcome::default();
        };
        if account.contains_key("name") {
            return Outcome::default();
        }
        let Some(id) = account
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        else {
            return Outcome::default();
        };
        let name = match self.configured.get(id) {
            Some(name) => name.clone(),
            None => {
                let names = self.file.as_ref().map(Reloadable::get);
                match names
                    .as_ref()
                    .and_then(|g| g.as_deref())
                    .and_then(|n| n.get(id))
                {
                    Some(name) => name.clone(),
                    None => return Outcome::default(),
                }
            }
        };
        added.add("cloud.account.name", Json::Shared(name));
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

    fn accounts() -> Accounts {
        let export = r#"{"Accounts":[{"Id":"111111111111","Name":"org-name","Arn":"arn:…","Status":"ACTIVE"},
                                     {"Id":"123456789012","Name":"from-org"}]}"#;
        Accounts {
            configured: [("123456789012".to_owned(), "production".to_owned())]
                .into_iter()
                .collect(),
            file: Some(Reloadable::fixed(
                "accounts_file",
                parse_organizations_export(export).expect("export"),
            )),
        }
    }

    fn name_of(v: Value) -> Option<Value> {
        let mut doc = v.as_object().cloned().expect("object");
        accounts().enrich(&mut doc);
        get(&doc, "cloud.account.name").cloned()
    }

    #[test]
    fn the_account_id_gets_its_name_and_the_config_wins_over_the_export() {
        assert_eq!(
            name_of(json!({"cloud": {"account": {"id": "111111111111"}}})),
            Some(json!("org-name"))
        );
        assert_eq!(
            name_of(json!({"cloud": {"account": {"id": "123456789012"}}})),
            Some(json!("production"))
        );
        assert_eq!(
            name_of(json!({"cloud": {"account": {"id": "999999999999"}}})),
            None
        );
    }

    #[test]
    fn a_name_the_log_set_is_kept() {
        assert_eq!(
            name_of(json!({"cloud": {"account": {"id": "111111111111", "name": "own"}}})),
            Some(json!("own"))
        );
    }

    #[test]
    fn an_export_of_another_shape_is_an_error_saying_what_was_expected() {
        assert!(
            parse_organizations_export("[]")
                .expect_err("not an export")
                .contains("list-accounts")
        );
    }
}
