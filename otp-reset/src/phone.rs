//! Phone numbers, normalised so that every way of typing one number compares equal.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use phonenumber::{Type, country};
use quick_cache::sync::Cache;

/// A phone number that can receive messages, normalised to its E.164 form.
///
/// Users type numbers every way; parsing with Indonesia as the default region makes them one:
///
/// ```
/// use otp_reset::PhoneNumber;
///
/// let local: PhoneNumber = "081234567890".parse()?;
/// let international: PhoneNumber = "+62 812-3456-7890".parse()?;
/// let bare: PhoneNumber = "6281234567890".parse()?;
/// assert_eq!(local, international);
/// assert_eq!(local, bare);
/// assert_eq!(local.digits(), "6281234567890");
/// assert!("12345".parse::<PhoneNumber>().is_err());
/// # Ok::<(), otp_reset::PhoneError>(())
/// ```
///
/// E.164 numbers have at most 15 digits, so a number is kept as one integer: cheap to copy,
/// hash and compare.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneNumber(u64);

/// Why a text is not a phone number that can receive a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// The text is not a phone number at all, or no such number can exist.
    #[error("not a valid phone number")]
    Invalid,
    /// The number exists but cannot receive messages (a landline, toll-free or premium number).
    #[error("the number cannot receive messages (not a mobile number)")]
    NotMobile,
}

impl PhoneNumber {
    /// Parses a number as a user typed it, with Indonesia as the region of national numbers.
    pub fn parse(text: &str) -> Result<Self, PhoneError> {
        Self::parse_in_region(text, country::Id::ID)
    }

    /// Parses a number with `region` as the region of national numbers (`08…` style).
    ///
    /// Parsing and validating with `phonenumber` costs about 2 µs, and every step of the flow
    /// parses the number the step before parsed moments ago; so the verdicts on the last 16 384
    /// texts (of up to 24 bytes) are kept, and a repeat is a lookup.
    pub fn parse_in_region(text: &str, region: country::Id) -> Result<Self, PhoneError> {
        let Some(typed) = TypedText::read(text, region) else {
            return Self::parse_uncached(text, region);
        };
        let Some(recent) = &*RECENT else {
            return Self::parse_uncached(text, region);
        };
        if let Some(verdict) = recent.get(&typed) {
            return verdict;
        }
        let verdict = Self::parse_uncached(text, region);
        recent.insert(typed, verdict.clone());
        verdict
    }

    fn parse_uncached(text: &str, region: country::Id) -> Result<Self, PhoneError> {
        let parsed = phonenumber::parse(Some(region), text).map_err(|_| PhoneError::Invalid)?;
        // `is_valid` is `number_type(..) != Unknown` on the national number written with its
        // leading zeros: without any, that is the same call, so it is made once (half the cost).
        let kind = parsed.number_type(&phonenumber::metadata::DATABASE);
        let valid = match parsed.national().zeros() {
            0 => kind != Type::Unknown,
            _ => parsed.is_valid(),
        };
        if parsed.extension().is_some() || !valid {
            return Err(PhoneError::Invalid);
        }
        match kind {
            Type::Mobile | Type::FixedLineOrMobile | Type::PersonalNumber | Type::Voip => {}
            _ => return Err(PhoneError::NotMobile),
        }
        let national = parsed.national();
        let zeros = u32::from(national.zeros());
        let national_digits = digit_count(national.value()) + zeros;
        let e164 = u64::from(parsed.code().value())
            .checked_mul(10u64.pow(national_digits))
            .and_then(|cc| cc.checked_add(national.value()))
            .ok_or(PhoneError::Invalid)?;
        Ok(Self(e164))
    }

    /// The number from its E.164 digits, as [`PhoneNumber::as_u64`] gave them; for stores that
    /// keep numbers as integers. Returns `None` for zero or more than 15 digits.
    pub fn from_u64(e164: u64) -> Option<Self> {
        (e164 != 0 && digit_count(e164) <= 15).then_some(Self(e164))
    }

    /// The E.164 digits as one integer (`6281234567890`).
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The E.164 digits without `+` (`6281234567890`): the seed's `phoneNumber` and WhatsApp's
    /// user id.
    pub fn digits(self) -> String {
        self.0.to_string()
    }

    /// The number with at least half its digits hidden (`+6281*******90`), for logs and
    /// audit events.
    pub fn masked(self) -> MaskedPhone {
        MaskedPhone(self)
    }
}

/// How many parsed numbers [`PhoneNumber::parse`] remembers (about 50 bytes each).
const RECENT_NUMBERS: usize = 16_384;

/// The parses remembered. Half the room is for numbers seen once, so that a number request-otp
/// parsed is still there when its verify-otp comes, after up to 8 192 other new numbers.
static RECENT: LazyLock<Option<Cache<TypedText, Result<PhoneNumber, PhoneError>>>> =
    LazyLock::new(|| {
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(RECENT_NUMBERS)
            .weight_capacity(RECENT_NUMBERS as u64)
            .hot_allocation(0.5)
            .build()
            .ok()?;
        Some(Cache::with_options(
            options,
            quick_cache::UnitWeighter,
            quick_cache::DefaultHashBuilder::default(),
            quick_cache::sync::DefaultLifecycle::default(),
        ))
    });

/// A short text as typed, the key of the parses remembered: `phonenumber`'s verdict depends on
/// every character (even where dashes go), so the key is the whole text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct TypedText {
    region: country::Id,
    len: u8,
    bytes: [u8; 24],
}

impl TypedText {
    fn read(text: &str, region: country::Id) -> Option<Self> {
        let mut bytes = [0; 24];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(Self {
            region,
            len: u8::try_from(text.len()).ok()?,
            bytes,
        })
    }
}

fn digit_count(mut n: u64) -> u32 {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

/// Numbers are personal data: `Debug` shows them masked, so a stray `{:?}` leaks nothing.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// A phone number shown with at least half its digits hidden: `+6281*******90`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskedPhone(PhoneNumber);

impl fmt::Display for MaskedPhone {
    /// At least half the digits are hidden, whatever the number's length: a few leading digits
    /// (the country and network) and the last two stay, so an operator can tell numbers apart.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.digits();
        let hidden = digits.len().div_ceil(2);
        let tail = 2.min(digits.len() - hidden);
        let head = digits.len() - hidden - tail;
        write!(
            f,
            "+{}{}{}",
            &digits[..head],
            "*".repeat(hidden),
            &digits[digits.len() - tail..]
        )
    }
}

impl fmt::Debug for MaskedPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn every_way_of_typing_an_indonesian_mobile_is_one_number() {
        let expected = phone("081234567890");
        for typed in [
            "+62 812-3456-7890",
            "6281234567890",
            "62 812 3456 7890",
            "0812-3456-7890",
            "+6281234567890",
            " 0812 3456 7890 ",
        ] {
            assert_eq!(phone(typed), expected, "{typed}");
        }
        assert_eq!(expected.digits(), "6281234567890");
        assert_eq!(expected.to_string(), "+6281234567890");
    }

    #[test]
    fn impossible_numbers_are_invalid() {
        for typed in ["", "abc", "12345", "08123", "+6281", "628123456789012345"] {
            assert_eq!(
                PhoneNumber::parse(typed),
                Err(PhoneError::Invalid),
                "{typed}"
            );
        }
    }

    #[test]
    fn a_remembered_parse_is_the_parse() {
        use rand::RngExt as _;
        let mut rng = rand::rng();
        let mut texts: Vec<String> = [
            "0",
            "+",
            "+-",
            "00",
            "0062812345678",
            "+620812345678",
            "620812345678",
            "+62 0812 3456 7890",
            "-0812-3456-7890-",
            "08 12",
            "+44 7911 123456",
            "07911123456",
        ]
        .map(String::from)
        .into();
        for _ in 0..3_000 {
            let prefix = [
                "", "0", "08", "+62", "62", "+628", "+1", "+44", "00", "+0", "8",
            ][rng.random_range(0..11)];
            let mut text = prefix.to_owned();
            for _ in 0..rng.random_range(0..16) {
                if rng.random_range(0..5) == 0 {
                    text.push([' ', '-'][rng.random_range(0..2)]);
                }
                text.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
            texts.push(text);
        }
        for text in &texts {
            // Twice: the first parse may fill the memory, the second reads it.
            for _ in 0..2 {
                assert_eq!(
                    PhoneNumber::parse(text),
                    PhoneNumber::parse_uncached(text, country::Id::ID),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn landlines_cannot_receive_codes() {
        assert_eq!(
            PhoneNumber::parse("021 555 1234"),
            Err(PhoneError::NotMobile)
        );
    }

    #[test]
    fn foreign_numbers_in_international_form_are_accepted() {
        assert_eq!(phone("+1 650 253 0000").digits(), "16502530000");
    }

    #[test]
    fn integer_form_round_trips() {
        let number = phone("081298765432");
        assert_eq!(PhoneNumber::from_u64(number.as_u64()), Some(number));
        assert_eq!(PhoneNumber::from_u64(0), None);
    }

    #[test]
    fn masking_hides_at_least_half_the_digits() {
        assert_eq!(phone("081234567890").masked().to_string(), "+6281*******90");
        assert_eq!(
            format!("{:?}", phone("081234567890")),
            "PhoneNumber(+6281*******90)"
        );
        for n in [50_051_234u64, 6_281_234_567_890, 123_456_789_012_345] {
            let shown = PhoneNumber(n).masked().to_string();
            let hidden = shown.matches('*').count();
            assert!(hidden * 2 >= n.to_string().len(), "{shown}");
        }
    }

    /// The checks as `phonenumber` documents them: validity, then the type.
    fn parse_reference(text: &str, region: country::Id) -> Result<u64, PhoneError> {
        let parsed = phonenumber::parse(Some(region), text).map_err(|_| PhoneError::Invalid)?;
        if parsed.extension().is_some() || !parsed.is_valid() {
            return Err(PhoneError::Invalid);
        }
        match parsed.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile | Type::PersonalNumber | Type::Voip => {}
            _ => return Err(PhoneError::NotMobile),
        }
        let national = parsed.national();
        let digits = digit_count(national.value()) + u32::from(national.zeros());
        Ok(u64::from(parsed.code().value()) * 10u64.pow(digits) + national.value())
    }

    #[test]
    fn one_type_lookup_decides_as_validity_and_type_did() {
        let mut texts: Vec<String> = [
            "081234567890",
            "6281234567890",
            "+62 812-3456-7890",
            "021 555 1234",
            "+39 06 6982 1234",
            "+39 312 345 6789",
            "+44 7911 123456",
            "+1 650 253 0000",
            "+225 07 0123 4567",
            "0812 3456 7890 ext. 12",
            "12345",
            "",
        ]
        .map(String::from)
        .into();
        // Random digits after prefixes of many regions, some with national leading zeros.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let prefixes = [
            "", "0", "08", "62", "+62", "+628", "+39 0", "+39 3", "+225 0", "+1", "+44", "00",
        ];
        for _ in 0..4_000 {
            let mut text = prefixes[usize::try_from(next(12)).unwrap_or(0)].to_owned();
            for _ in 0..next(13) {
                text.push(char::from(b'0' + u8::try_from(next(10)).unwrap_or(0)));
            }
            texts.push(text);
        }
        for text in &texts {
            for region in [country::Id::ID, country::Id::IT] {
                assert_eq!(
                    PhoneNumber::parse_in_region(text, region).map(PhoneNumber::as_u64),
                    parse_reference(text, region),
                    "{text:?} in {region:?}"
                );
            }
        }
    }
}
