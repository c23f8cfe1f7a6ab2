//! Text made byte by byte on the delivery thread (a UUID's hex digits, a timestamp's decimal
//! digits), appended to a `String` or written over bytes of it.
//!
//! Every payload holds a span id and a timestamp. Made as bytes, they would be checked as
//! UTF-8 (`str::from_utf8`) before `String::push_str` takes them, which costs more than
//! making them. The bytes this module makes are ASCII by construction, and ASCII is UTF-8,
//! so it appends them unchecked; bytes made elsewhere are checked as ASCII first.

#![allow(unsafe_code)] // appending ASCII bytes to a string; see each SAFETY comment

/// Appends `bytes` to `out`.
///
/// # Panics
/// If `bytes` is not ASCII: a bug in the caller.
pub(crate) fn push_ascii<const N: usize>(out: &mut String, bytes: &[u8; N]) {
    assert!(bytes.is_ascii(), "only ASCII bytes are appended");
    // SAFETY: ASCII bytes are valid UTF-8 on their own, so `out` stays valid UTF-8.
    unsafe { out.as_mut_vec() }.extend_from_slice(bytes);
}

/// Appends `value` as a lowercase hyphenated UUID (`8-4-4-4-12` hex digits); see
/// [`QuotedUuid`] for it in quotes.
pub(crate) fn push_uuid(out: &mut String, value: u128) {
    let QuotedUuid(text) = QuotedUuid::new(value);
    // SAFETY: hex digits and hyphens are ASCII, so valid UTF-8.
    unsafe { out.as_mut_vec() }.extend_from_slice(&text[1..37]);
}

/// A lowercase hyphenated UUID in quotes, as JSON writes it: ASCII by construction, and
/// a fixed 38 bytes, so it is copied without a loop or a call.
#[derive(Clone, Copy)]
pub(crate) struct QuotedUuid([u8; 38]);

impl QuotedUuid {
    pub(crate) fn new(value: u128) -> QuotedUuid {
        let [first, second, third, fourth] =
            [96, 64, 32, 0].map(|shift| hex_digits((value >> shift) as u32));
        let mut text = [b'-'; 38];
        text[0] = b'"';
        text[1..9].copy_from_slice(&first);
        text[10..14].copy_from_slice(&second[..4]);
        text[15..19].copy_from_slice(&second[4..]);
        text[20..24].copy_from_slice(&third[..4]);
        text[25..29].copy_from_slice(&third[4..]);
        text[29..37].copy_from_slice(&fourth);
        text[37] = b'"';
        QuotedUuid(text)
    }

    /// Appends the text to `out`.
    pub(crate) fn push_to(&self, out: &mut String) {
        // SAFETY: hex digits, hyphens and quotes are ASCII, so valid UTF-8.
        unsafe { out.as_mut_vec() }.extend_from_slice(&self.0);
    }

    /// Writes the text over the 38 bytes of `text` from `at`.
    ///
    /// # Panics
    /// If those bytes are not whole characters of `text`: a bug in the caller.
    #[inline(always)] // a call would cost as much as the copy
    pub(crate) fn overwrite(&self, text: &mut str, at: usize) {
        overwrite_ascii(text, at, &self.0);
    }
}

/// The eight lowercase hex digits of `word`, most significant first, all eight at once.
fn hex_digits(word: u32) -> [u8; 8] {
    // Spread the nibbles over the bytes of a u64, the most significant into the top byte.
    let mut nibbles = u64::from(word);
    nibbles = (nibbles | (nibbles << 16)) & 0x0000_FFFF_0000_FFFF;
    nibbles = (nibbles | (nibbles << 8)) & 0x00FF_00FF_00FF_00FF;
    nibbles = (nibbles | (nibbles << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    // 1 in each byte that holds 10 or more: it becomes a letter, 'a' being 39 past '0' + 10.
    let letters = ((nibbles + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (nibbles + 0x3030_3030_3030_3030 + letters * 39).to_be_bytes()
}

/// Appends the six decimal digits of `value` (below 1,000,000), zero-padded.
pub(crate) fn push_six_digits(out: &mut String, value: u32) {
    // SAFETY: `six_digits` makes ASCII digits only, so the bytes are valid UTF-8.
    unsafe { out.as_mut_vec() }.extend_from_slice(&six_digits(value));
}

/// Writes the six decimal digits of `value` (below 1,000,000), zero-padded, over the six
/// bytes of `text` from `at`.
///
/// # Panics
/// If those bytes are not whole characters of `text`: a bug in the caller.
#[inline(always)] // a call would cost as much as the digits
pub(crate) fn overwrite_six_digits(text: &mut str, at: usize, value: u32) {
    overwrite_ascii(text, at, &six_digits(value));
}

/// Writes `ascii` over as many bytes of `text` from `at`; callers pass ASCII bytes only
/// (made in this module).
#[inline(always)]
fn overwrite_ascii<const N: usize>(text: &mut str, at: usize, ascii: &[u8; N]) {
    assert!(
        text.is_char_boundary(at) && text.is_char_boundary(at + N),
        "only whole characters are written over"
    );
    debug_assert!(ascii.is_ascii());
    // SAFETY: whole characters are replaced by ASCII bytes, so `text` stays valid UTF-8.
    let bytes = unsafe { text.as_bytes_mut() };
    bytes[at..at + N].copy_from_slice(ascii);
}

/// The six decimal digits of `value` (below 1,000,000), zero-padded.
#[inline(always)]
fn six_digits(value: u32) -> [u8; 6] {
    let value = (value % 1_000_000) as usize;
    let [a, b] = DIGIT_PAIRS[value / 10_000];
    let [c, d] = DIGIT_PAIRS[value / 100 % 100];
    let [e, f] = DIGIT_PAIRS[value % 100];
    [a, b, c, d, e, f]
}

/// The two decimal digits of each number below 100.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    pairs
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_ascii() {
        let mut out = String::from("ü");
        push_ascii(&mut out, b"-12ab");
        assert_eq!(out, "ü-12ab");
    }

    #[test]
    #[should_panic(expected = "only ASCII")]
    fn refuses_other_bytes() {
        push_ascii(&mut String::new(), &[0xC3, 0xBC]);
    }

    #[test]
    fn uuids_print_as_the_uuid_crate_prints_them() {
        let values = (0..64).map(|_| fastrand::u128(..)).chain([
            0,
            u128::MAX,
            0x4e3e0ec6_2938_40b1_8504_09eb1d4b0dee,
        ]);
        for value in values {
            let expected = uuid::Uuid::from_u128(value).hyphenated().to_string();
            let (mut plain, mut quoted) = (String::from("ü"), String::new());
            push_uuid(&mut plain, value);
            QuotedUuid::new(value).push_to(&mut quoted);
            assert_eq!(plain, format!("ü{expected}"));
            assert_eq!(quoted, format!("\"{expected}\""));
        }
    }

    #[test]
    fn six_digits_are_zero_padded() {
        for (value, text) in [
            (0, "000000"),
            (7, "000007"),
            (338_776, "338776"),
            (999_999, "999999"),
        ] {
            let mut out = String::new();
            push_six_digits(&mut out, value);
            assert_eq!(out, text);
            let mut written_over = String::from("ü.123456!");
            overwrite_six_digits(&mut written_over, 3, value);
            assert_eq!(written_over, format!("ü.{text}!"));
        }
    }

    #[test]
    fn writes_a_uuid_over_whole_characters() {
        let value = 0x4e3e0ec6_2938_40b1_8504_09eb1d4b0dee;
        let mut text = format!("ü{}ü", "✓".repeat(12) + "ab");
        QuotedUuid::new(value).overwrite(&mut text, 2);
        assert_eq!(text, "ü\"4e3e0ec6-2938-40b1-8504-09eb1d4b0dee\"ü");
    }

    #[test]
    #[should_panic(expected = "only whole characters")]
    fn refuses_to_write_over_part_of_a_character() {
        QuotedUuid::new(0).overwrite(&mut "ü".repeat(20), 1);
    }

    #[test]
    #[should_panic(expected = "only whole characters")]
    fn refuses_to_write_past_the_end() {
        overwrite_six_digits(&mut String::from("12345"), 0, 1);
    }
}
