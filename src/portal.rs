//! The operator's portal (`[portal]` in the configuration): its name in Japanese and English,
//! who runs it and how to reach them, and the time zone screens and mail show times in.
//!
//! Servers and kiosks commonly run in UTC while members read Japanese time, so times are never
//! shown in the host's offset but in this IANA zone (default `Asia/Tokyo`). jiff reads the
//! system's time zone database and falls back to the copy built into the binary.

use jiff::tz::TimeZone;

use crate::api::{Lang, PortalInfo, PortalNames};

/// The time zone used unless the configuration names another.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Tokyo";

/// The longest portal name, short name, operator or contact line accepted, in characters
/// (they go into mail subjects and one-line headers).
pub const TEXT_MAX: usize = 100;

/// Why the portal's settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    /// Not an IANA time zone this machine or the built-in database knows.
    #[error("portal.time_zone: unknown time zone {0:?} (an IANA name such as \"Asia/Tokyo\")")]
    TimeZone(String),
    /// A text that is empty, too long or holds a line break or control character.
    #[error(
        "portal.{lang}.{key}: must be 1 to {TEXT_MAX} characters on one line, without control characters"
    )]
    Text {
        /// `ja` or `en`.
        lang: &'static str,
        /// `name`, `short_name`, `operator` or `contact`.
        key: &'static str,
    },
}

/// The portal, checked and ready to use.
#[derive(Debug, Clone)]
pub struct Portal {
    ja: PortalNames,
    en: PortalNames,
    time_zone_name: String,
    time_zone: TimeZone,
}

impl Default for Portal {
    fn default() -> Self {
        Self {
            ja: default_names(Lang::Ja),
            en: default_names(Lang::En),
            time_zone_name: DEFAULT_TIME_ZONE.to_owned(),
            time_zone: TimeZone::get(DEFAULT_TIME_ZONE).unwrap_or(TimeZone::UTC),
        }
    }
}

/// tobira's own names: what members saw before portals could be named.
fn default_names(lang: Lang) -> PortalNames {
    PortalNames {
        name: match lang {
            Lang::Ja => "tobira 会員ポータル",
            Lang::En => "tobira member portal",
        }
        .to_owned(),
        short_name: "tobira".to_owned(),
        operator: None,
        contact: None,
    }
}

/// What the configuration says about one language; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalTextsSetting {
    /// The full name.
    pub name: Option<String>,
    /// The short name (default: `name`, else "tobira").
    pub short_name: Option<String>,
    /// Who runs the portal.
    pub operator: Option<String>,
    /// How to reach them.
    pub contact: Option<String>,
}

/// `[portal]` as written in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSetting {
    /// The IANA time zone (default `Asia/Tokyo`).
    pub time_zone: Option<String>,
    /// `[portal.ja]`
    pub ja: PortalTextsSetting,
    /// `[portal.en]`
    pub en: PortalTextsSetting,
}

impl PortalSetting {
    /// Checks the setting and fills in the defaults.
    pub fn resolve(&self) -> Result<Portal, PortalError> {
        let time_zone_name = self
            .time_zone
            .as_deref()
            .map_or(DEFAULT_TIME_ZONE, str::trim)
            .to_owned();
        let time_zone = time_zone(&time_zone_name)?;
        Ok(Portal {
            ja: resolve_names(&self.ja, Lang::Ja)?,
            en: resolve_names(&self.en, Lang::En)?,
            time_zone_name,
            time_zone,
        })
    }
}

fn resolve_names(set: &PortalTextsSetting, lang: Lang) -> Result<PortalNames, PortalError> {
    let check =
        |key: &'static str, value: &Option<String>| -> Result<Option<String>, PortalError> {
            let Some(v) = value else { return Ok(None) };
            let v = v.trim();
            let n = v.chars().count();
            if n == 0 || n > TEXT_MAX || v.chars().any(char::is_control) {
                return Err(PortalError::Text {
                    lang: lang.code(),
                    key,
                });
            }
            Ok(Some(v.to_owned()))
        };
    let default = default_names(lang);
    let name = check("name", &set.name)?;
    let short_name = check("short_name", &set.short_name)?;
    Ok(PortalNames {
        // A configured name is also the short one unless that is given: an operator who names
        // the portal never leaves "tobira" in a subject.
        short_name: short_name
            .or_else(|| name.clone())
            .unwrap_or(default.short_name),
        name: name.unwrap_or(default.name),
        operator: check("operator", &set.operator)?,
        contact: check("contact", &set.contact)?,
    })
}

impl Portal {
    /// The names in `lang`.
    pub fn names(&self, lang: Lang) -> &PortalNames {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }

    /// The IANA name of the time zone.
    pub fn time_zone_name(&self) -> &str {
        &self.time_zone_name
    }

    /// The time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// `at` (Unix seconds) in the portal's time zone: `2026-12-06 11:23 JST`.
    pub fn format_time(&self, at: i64) -> String {
        format_in(&self.time_zone, at)
    }

    /// The lines that close a mail: the portal's name, then the operator and the contact
    /// line when configured.
    pub fn signature_lines(&self, lang: Lang) -> Vec<&str> {
        let n = self.names(lang);
        std::iter::once(n.name.as_str())
            .chain(n.operator.as_deref())
            .chain(n.contact.as_deref())
            .collect()
    }

    /// What the API tells the screens.
    pub fn info(&self) -> PortalInfo {
        PortalInfo {
            ja: self.ja.clone(),
            en: self.en.clone(),
            time_zone: self.time_zone_name.clone(),
        }
    }
}

/// The IANA time zone `name` (what [`PortalInfo::time_zone`] gives the screens), from the
/// system's database or the built-in one.
pub fn time_zone(name: &str) -> Result<TimeZone, PortalError> {
    TimeZone::get(name).map_err(|_| PortalError::TimeZone(name.to_owned()))
}

/// The offset from UTC `zone` has at `at` (Unix seconds), for code that shows times with a
/// fixed offset (the screens, for one session).
pub fn offset_at(zone: &TimeZone, at: i64) -> time::UtcOffset {
    let seconds = jiff::Timestamp::from_second(at)
        .map(|t| zone.to_offset(t).seconds())
        .unwrap_or(0);
    time::UtcOffset::from_whole_seconds(seconds).unwrap_or(time::UtcOffset::UTC)
}

/// `at` (Unix seconds) in `zone`, as `YYYY-MM-DD HH:MM` and the zone's abbreviation (or
/// offset when it has none). Out-of-range instants, which no clock gives, show as seconds.
pub fn format_in(zone: &TimeZone, at: i64) -> String {
    match jiff::Timestamp::from_second(at) {
        Ok(t) => t
            .to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => format!("@{at}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Portal, PortalError> {
        toml::from_str::<PortalSetting>(text).unwrap().resolve()
    }

    #[test]
    fn defaults_are_tobiras_names_and_tokyo_time() {
        let p = Portal::default();
        assert_eq!(p.names(Lang::Ja).name, "tobira 会員ポータル");
        assert_eq!(p.names(Lang::En).name, "tobira member portal");
        assert_eq!(p.names(Lang::Ja).short_name, "tobira");
        assert_eq!(p.time_zone_name(), "Asia/Tokyo");
        // 2026-12-06 02:23 UTC is 11:23 in Japan.
        assert_eq!(p.format_time(1_796_523_780), "2026-12-06 11:23 JST");
        assert_eq!(parse("").unwrap().info(), p.info());
    }

    #[test]
    fn a_configured_portal_and_its_defaults() {
        let p = parse(
            "time_zone = \"UTC\"\n[ja]\nname = \"みらい健康保険組合 会員ポータル\"\n\
             short_name = \"みらい健保\"\noperator = \"みらい健康保険組合 加入者サービス課\"\n\
             contact = \"電話 0120-000-000(平日 9時〜17時)\"\n[en]\nname = \"Mirai Kenpo portal\"\n",
        )
        .unwrap();
        assert_eq!(p.names(Lang::Ja).short_name, "みらい健保");
        // No English short name: the English name stands in.
        assert_eq!(p.names(Lang::En).short_name, "Mirai Kenpo portal");
        assert_eq!(
            p.signature_lines(Lang::Ja),
            [
                "みらい健康保険組合 会員ポータル",
                "みらい健康保険組合 加入者サービス課",
                "電話 0120-000-000(平日 9時〜17時)"
            ]
        );
        assert_eq!(p.signature_lines(Lang::En), ["Mirai Kenpo portal"]);
        assert_eq!(p.format_time(1_796_523_780), "2026-12-06 02:23 UTC");
        let ny = parse("time_zone = \"America/New_York\"\n").unwrap();
        assert_eq!(ny.format_time(1_796_523_780), "2026-12-05 21:23 EST");
        // What a screen does with the API's answer.
        let zone = time_zone(&p.info().time_zone).unwrap();
        assert_eq!(format_in(&zone, 1_796_523_780), "2026-12-06 02:23 UTC");
        assert_eq!(offset_at(&zone, 1_796_523_780), time::UtcOffset::UTC);
        let tokyo = Portal::default();
        assert_eq!(
            offset_at(tokyo.time_zone(), 1_796_523_780),
            time::UtcOffset::from_hms(9, 0, 0).unwrap()
        );
        // Summer time is the offset of the instant asked about.
        assert_eq!(
            offset_at(ny.time_zone(), 1_783_000_000).whole_hours(),
            -4,
            "July in New York"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        assert_eq!(
            parse("time_zone = \"Asia/Tokio\"\n")
                .unwrap_err()
                .to_string(),
            "portal.time_zone: unknown time zone \"Asia/Tokio\" (an IANA name such as \"Asia/Tokyo\")"
        );
        for (text, key) in [
            ("[ja]\nname = \" \"\n", "portal.ja.name"),
            ("[en]\ncontact = \"a\\nb\"\n", "portal.en.contact"),
            (
                &format!("[ja]\nshort_name = \"{}\"\n", "長".repeat(TEXT_MAX + 1)),
                "portal.ja.short_name",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(key), "{e}");
        }
        assert!(toml::from_str::<PortalSetting>("[ja]\ntitle = \"x\"\n").is_err());
    }
}
