//! A byte buffer that leaves no copy of what it held: [`WipedBuf`].
//!
//! A `Zeroizing<Vec<u8>>` is wiped when dropped, but a `Vec` that grows moves its bytes to a
//! new allocation and frees the old one as it is, so every growth leaves a copy of what the
//! buffer held so far in freed memory. `WipedBuf` grows by allocating the larger buffer itself,
//! copying, and wiping the old one.
//!
//! Invariant: every allocation a `WipedBuf` ever used is overwritten with zeros before it is
//! freed: on drop (whole capacity), and on every growth; the buffer never reallocates in
//! place. Nothing here logs or returns the bytes in an error.

use std::io::{self, Read};

use zeroize::Zeroizing;

/// Smallest allocation of a buffer that grows.
const MIN_CAPACITY: usize = 1024;

/// A growable byte buffer wiped when dropped and whenever it grows (see the module).
#[derive(Default)]
pub struct WipedBuf(Zeroizing<Vec<u8>>);

impl WipedBuf {
    /// An empty buffer with room for `capacity` bytes before it first grows.
    pub fn with_capacity(capacity: usize) -> WipedBuf {
        WipedBuf(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    /// The bytes held.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes that fit before the buffer next grows.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Makes room for `more` bytes beyond what is held: when they do not fit, moves to a new
    /// allocation of at least twice the size and wipes the old one.
    pub fn reserve(&mut self, more: usize) {
        let needed = self.0.len().saturating_add(more);
        if needed <= self.0.capacity() {
            return;
        }
        let capacity = needed
            .max(self.0.capacity().saturating_mul(2))
            .max(MIN_CAPACITY);
        let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
        grown.extend_from_slice(&self.0);
        // The old allocation is wiped as it is dropped here.
        self.0 = grown;
    }

    /// Appends `bytes`, growing as [`WipedBuf::reserve`] does.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    /// The buffer, still wiped when dropped (it must not be grown as a `Vec`).
    pub fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.0
    }

    /// Reads `reader` to its end into a wiped buffer, unless it holds more than `max` bytes:
    /// then `None`, after at most `max + 1` bytes were read (and wiped).
    pub fn read_capped(reader: impl Read, max: u64) -> io::Result<Option<WipedBuf>> {
        let mut reader = reader.take(max.saturating_add(1));
        let mut buf = WipedBuf::with_capacity(8 * 1024);
        loop {
            if buf.len() == buf.capacity() {
                buf.reserve(1);
            }
            let len = buf.len();
            // Filled with zeros within the capacity, so the read writes into this allocation.
            let capacity = buf.capacity();
            buf.0.resize(capacity, 0);
            let read = reader.read(&mut buf.0[len..]);
            match read {
                Ok(0) => {
                    buf.0.truncate(len);
                    break;
                }
                Ok(n) => buf.0.truncate(len + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.0.truncate(len),
                Err(e) => return Err(e),
            }
        }
        if buf.len() as u64 > max {
            return Ok(None);
        }
        Ok(Some(buf))
    }
}

impl io::Write for WipedBuf {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Write for WipedBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn growth_keeps_every_byte_and_at_least_doubles() {
        let mut b = WipedBuf::with_capacity(4);
        let mut expected = Vec::new();
        let mut capacities = vec![b.capacity()];
        for i in 0..5000u32 {
            let piece = i.to_le_bytes();
            b.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
            if b.capacity() != *capacities.last().unwrap() {
                capacities.push(b.capacity());
            }
        }
        assert_eq!(b.as_slice(), &expected[..]);
        // Few growths: each at least doubles (after the first to the minimum).
        for w in capacities.windows(2).skip(1) {
            assert!(w[1] >= 2 * w[0], "{capacities:?}");
        }
        assert!(capacities.len() < 10, "{capacities:?}");
    }

    #[test]
    fn text_and_json_write_into_it() {
        let mut b = WipedBuf::default();
        std::fmt::Write::write_fmt(&mut b, format_args!("{}-{}", "a", 1)).unwrap();
        serde_json::to_writer(&mut b, &["x".repeat(3000)]).unwrap();
        let s = std::str::from_utf8(b.as_slice()).unwrap();
        assert!(s.starts_with("a-1[\"xxx"));
        assert_eq!(s.len(), 3 + 3000 + 4);
    }

    #[test]
    fn read_capped_reads_all_within_the_cap_and_refuses_more() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let got = WipedBuf::read_capped(&data[..], data.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(got.as_slice(), &data[..]);
        assert!(WipedBuf::read_capped(&data[..], data.len() as u64 - 1)
            .unwrap()
            .is_none());
        let empty = WipedBuf::read_capped(&b""[..], 10).unwrap().unwrap();
        assert!(empty.is_empty());
    }
}
