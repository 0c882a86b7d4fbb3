//! Enrichment data built at test time: GeoIP City and ASN databases written
//! with `mmdb-writer` and a threat list, so that nothing is downloaded.

use std::path::Path;

use serde_json::json;

/// An `[enrich]` section whose databases, written under `dir`, place every
/// network of `located` in Testville (NL), AS64500 "Example Transit"; whose
/// threat list (provider "e2e feed") holds `threats`; with 10.0.0.0/8 as the
/// internal network and account 123456789012 named "production".
pub fn enrich_config(dir: &Path, located: &[&str], threats: &[&str]) -> String {
    std::fs::create_dir_all(dir).expect("enrichment data folder");
    let mut city = mmdb_writer::Writer::new("GeoLite2-City");
    let mut asn = mmdb_writer::Writer::new("GeoLite2-ASN");
    for net in located {
        let net = net.parse::<ipnet::IpNet>().expect("network");
        city.insert(
            net,
            &json!({"city": {"names": {"en": "Testville"}}, "country": {"iso_code": "NL", "names": {"en": "Netherlands"}},
                    "continent": {"names": {"en": "Europe"}}, "location": {"latitude": 52.37, "longitude": 4.9}}),
        )
        .expect("city record");
        asn.insert(net, &json!({"autonomous_system_number": 64500, "autonomous_system_organization": "Example Transit"}))
            .expect("asn record");
    }
    let (city_path, asn_path, feed) = (
        dir.join("GeoLite2-City.mmdb"),
        dir.join("GeoLite2-ASN.mmdb"),
        dir.join("feed.txt"),
    );
    std::fs::write(&city_path, city.to_bytes().expect("city db")).expect("write city db");
    std::fs::write(&asn_path, asn.to_bytes().expect("asn db")).expect("write asn db");
    std::fs::write(&feed, format!("# e2e feed\n{}\n", threats.join("\n"))).expect("write feed");
    format!(
        r#"
[enrich]
geoip_city = "{city}"
geoip_asn = "{asn}"
internal_networks = ["10.0.0.0/8"]
threat_intel_lists = [{{ path = "{feed}", format = "text", provider = "e2e feed" }}]
[enrich.account_names]
"123456789012" = "production"
"#,
        city = city_path.display(),
        asn = asn_path.display(),
        feed = feed.display(),
    )
}
