//! `ShareableList` (Python's `multiprocessing.shared_memory.ShareableList`)
//! in CPython's own layout, so either language reads and writes what the
//! other made.
//!
//! # Implementation notes
//!
//! The block holds, in native byte order (as Python's `struct` writes it):
//! the item count N (i64); N + 1 slot offsets (i64) into the data area; the
//! data area (8 bytes per number, bool or `None`; a multiple of 8 for each
//! `str` or `bytes`, NUL-padded); N struct formats of 8 bytes each (`q`,
//! `d`, `xxxxxxx?`, `xxxxxx?x`, `<n>s`); and N back-transform codes (0
//! numbers and bools, 1 `str`, 2 `bytes`, 3 `None`). Slot sizes never
//! change, so a value that does not fit its slot is refused before
//! anything is written. Everything read from the block is checked: a
//! layout that lies is an error, never a panic or an out-of-bounds read;
//! every access copies through the block's descriptor, so a block another
//! process shrank under us is an error as well, never a SIGBUS.

use std::fmt;
use std::io;

use super::SharedMemory;

/// A value in a [`ShareableList`] slot: Python's `int` (64-bit), `float`,
/// `bool`, `str`, `bytes` or `None`.
///
/// Equality follows Python's: numbers compare by value across `Int`,
/// `Float` and `Bool` (`Int(1) == Bool(true) == Float(1.0)`), so
/// [`ShareableList::index`] and [`count`](ShareableList::count) agree with
/// Python's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Item {
    /// `int` (a 64-bit signed integer, Python's `q`).
    Int(i64),
    /// `float`.
    Float(f64),
    /// `bool`.
    Bool(bool),
    /// `str` (UTF-8; trailing NULs are lost, as in Python).
    Str(String),
    /// `bytes` (trailing NULs are lost, as in Python).
    Bytes(Vec<u8>),
    /// `None`.
    None,
}

impl Item {
    fn number(&self) -> Option<f64> {
        match *self {
            Item::Int(i) => Some(i as f64),
            Item::Float(f) => Some(f),
            Item::Bool(b) => Some(f64::from(u8::from(b))),
            _ => None,
        }
    }

    fn exact_int(&self) -> Option<i64> {
        match *self {
            Item::Int(i) => Some(i),
            Item::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }
}

impl PartialEq for Item {
    fn eq(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Str(a), Item::Str(b)) => a == b,
            (Item::Bytes(a), Item::Bytes(b)) => a == b,
            (Item::None, Item::None) => true,
            _ => match (self.exact_int(), other.exact_int()) {
                // Integers exactly (an f64 cannot hold every i64).
                (Some(a), Some(b)) => a == b,
                _ => matches!((self.number(), other.number()), (Some(a), Some(b)) if a == b),
            },
        }
    }
}

impl fmt::Display for Item {
    /// Python's `repr` of the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Int(i) => write!(f, "{i}"),
            Item::Float(x) => write!(f, "{x:?}"),
            Item::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Item::Str(s) => write!(f, "{s:?}"),
            Item::Bytes(b) => write!(f, "b{:?}", String::from_utf8_lossy(b)),
            Item::None => f.write_str("None"),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Item {
            fn from(v: $t) -> Item {
                Item::Int(i64::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<f64> for Item {
    fn from(v: f64) -> Item {
        Item::Float(v)
    }
}

impl From<bool> for Item {
    fn from(v: bool) -> Item {
        Item::Bool(v)
    }
}

impl From<&str> for Item {
    fn from(v: &str) -> Item {
        Item::Str(v.to_owned())
    }
}

impl From<String> for Item {
    fn from(v: String) -> Item {
        Item::Str(v)
    }
}

impl From<&[u8]> for Item {
    fn from(v: &[u8]) -> Item {
        Item::Bytes(v.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Item {
    fn from(v: &[u8; N]) -> Item {
        Item::Bytes(v.to_vec())
    }
}

impl From<Vec<u8>> for Item {
    fn from(v: Vec<u8>) -> Item {
        Item::Bytes(v)
    }
}

impl From<()> for Item {
    fn from((): ()) -> Item {
        Item::None
    }
}

impl<T: Into<Item>> From<Option<T>> for Item {
    fn from(v: Option<T>) -> Item {
        v.map_or(Item::None, Into::into)
    }
}

/// Why a [`ShareableList`] operation did nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The index (after counting negative ones from the end) is not in
    /// `0..len`.
    #[error("index {index} is out of range for a list of {len}")]
    OutOfRange {
        /// The index asked for.
        index: isize,
        /// The list's length.
        len: usize,
    },
    /// The value needs more bytes than its slot has (Python's "exceeds
    /// available storage"); the slot and its neighbours are unchanged.
    #[error("a value of {needed} bytes exceeds the slot's {room}")]
    TooLarge {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes the slot has.
        room: usize,
    },
    /// The slot's format or code is not one Python or ipc writes, or its
    /// `str` is not UTF-8: a broken or hostile writer.
    #[error("slot {0} holds something that is not a valid value")]
    Corrupt(usize),
}

const NUMBER: u8 = 0;
const STR: u8 = 1;
const BYTES: u8 = 2;
const NONE: u8 = 3;
const BOOL_FORMAT: &str = "xxxxxxx?";
const NONE_FORMAT: &str = "xxxxxx?x";

/// A value's struct format, back-transform code and bytes (padded to `room`
/// for strings).
fn encode(item: &Item, room: usize) -> Result<(String, u8, Vec<u8>), ListError> {
    let text = |bytes: &[u8], code| {
        if bytes.len() > room {
            return Err(ListError::TooLarge { needed: bytes.len(), room });
        }
        let mut v = bytes.to_vec();
        v.resize(room, 0);
        Ok((format!("{room}s"), code, v))
    };
    match item {
        Item::Int(i) => Ok(("q".into(), NUMBER, i.to_ne_bytes().to_vec())),
        Item::Float(f) => Ok(("d".into(), NUMBER, f.to_ne_bytes().to_vec())),
        Item::Bool(b) => Ok((BOOL_FORMAT.into(), NUMBER, vec![0, 0, 0, 0, 0, 0, 0, u8::from(*b)])),
        Item::None => Ok((NONE_FORMAT.into(), NONE, vec![0; 8])),
        Item::Str(s) => text(s.as_bytes(), STR),
        Item::Bytes(b) => text(b, BYTES),
    }
}

/// A fixed-length list of [`Item`]s in a named [`SharedMemory`] block, laid
/// out as CPython's `ShareableList` (Python 3.8 and later), so Python
/// processes attach to it by name and the other way round.
///
/// A slot may change type (`a.set(2, "dry ice")` where a float was) if the
/// new value fits the slot's storage: 8 bytes for numbers, bools and `None`,
/// and for `str`/`bytes` what the slot got when the list was made (its
/// first value's length rounded up to the next multiple of 8, plus 8 if it
/// was one already). Indices may be negative, counting from the end.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ipc::shared::Item;
/// let a = ipc::ShareableList::create(
///     None,
///     [Item::from("howdy"), b"HoWdY".into(), (-273.154).into(), 100.into(), Item::None, true.into(), 42.into()],
/// )?;
/// assert_eq!(a.get(2)?, Item::Float(-273.154));
/// a.set(2, "dry ice")?; // a float slot now holds a str
/// assert!(a.set(2, "larger than previously allocated storage space").is_err());
/// assert_eq!(a.get(2)?, Item::from("dry ice"));
/// assert_eq!((a.len(), a.index(&42.into()), a.count(&b"HoWdY".into())), (7, Some(6), 1));
/// a.shm().unlink()?;
/// # Ok(()) }
/// ```
pub struct ShareableList {
    shm: SharedMemory,
    len: usize,
    /// Slot offsets into the data area (`len + 1` of them).
    offsets: Vec<usize>,
}

impl fmt::Debug for ShareableList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShareableList").field("name", &self.shm.name()).field("len", &self.len).finish()
    }
}

impl ShareableList {
    /// A new list holding `items`, in a block named `name` (or a random
    /// name).
    ///
    /// # Errors
    ///
    /// As [`SharedMemory::create`]; `InvalidInput` for a `str`/`bytes` too
    /// long for Python's 8-character formats (over 99,999,991 bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let b = ipc::ShareableList::create(None, (0..5).map(ipc::shared::Item::from))?;
    /// let c = ipc::ShareableList::open(b.shm().name())?; // "in a second process"
    /// c.set(-1, -999)?;
    /// assert_eq!(b.get(-1)?, (-999).into());
    /// c.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn create<I>(name: Option<&str>, items: I) -> io::Result<ShareableList>
    where
        I: IntoIterator,
        I::Item: Into<Item>,
    {
        let items: Vec<Item> = items.into_iter().map(Into::into).collect();
        let n = items.len();
        let mut offsets = vec![0usize];
        for item in &items {
            let room = match item {
                Item::Str(s) => 8 * (s.len() / 8 + 1),
                Item::Bytes(b) => 8 * (b.len() / 8 + 1),
                _ => 8,
            };
            if room > 99_999_999 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a str or bytes item too long for Python's layout",
                ));
            }
            offsets.push(offsets[offsets.len() - 1] + room);
        }
        let data_start = (n + 2) * 8;
        let formats_at = data_start + offsets[n];
        let size = formats_at + 9 * n;
        let mut image = vec![0u8; size];
        image[..8].copy_from_slice(&(n as i64).to_ne_bytes());
        for (i, off) in offsets.iter().enumerate() {
            image[8 + 8 * i..16 + 8 * i].copy_from_slice(&(*off as i64).to_ne_bytes());
        }
        for (i, item) in items.iter().enumerate() {
            let (format, code, bytes) = encode(item, offsets[i + 1] - offsets[i])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let at = data_start + offsets[i];
            image[at..at + bytes.len()].copy_from_slice(&bytes);
            let f = formats_at + 8 * i;
            image[f..f + format.len()].copy_from_slice(format.as_bytes());
            image[formats_at + 8 * n + i] = code;
        }
        let shm = SharedMemory::create(name, size)?;
        shm.write_at(0, &image).map_err(io::Error::other)?;
        Ok(ShareableList { shm, len: n, offsets })
    }

    /// Attaches to the list in the block named `name` (made by Rust or by
    /// Python).
    ///
    /// # Errors
    ///
    /// As [`SharedMemory::open`]; `InvalidData` if the block does not hold
    /// a list's layout.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 8)?;
    /// shm.write_at(0, &[0xff; 8]).unwrap(); // a length of -1
    /// assert_eq!(ipc::ShareableList::open(shm.name()).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn open(name: &str) -> io::Result<ShareableList> {
        ShareableList::attach(SharedMemory::open(name)?)
    }

    /// Reads and checks a block's list layout.
    fn attach(shm: SharedMemory) -> io::Result<ShareableList> {
        let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("not a ShareableList: {why}"));
        let word = |at: usize| -> io::Result<i64> {
            let mut b = [0u8; 8];
            shm.read_at(at, &mut b).map_err(|_| bad("shorter than its layout"))?;
            Ok(i64::from_ne_bytes(b))
        };
        let n = usize::try_from(word(0)?).map_err(|_| bad("a negative length"))?;
        // Each item takes at least 8 + 8 + 8 + 1 bytes: a lying length
        // fails here, before anything is allocated for it.
        if n > shm.size() / 25 {
            return Err(bad("a length larger than the block"));
        }
        let mut offsets = Vec::with_capacity(n + 1);
        for i in 0..=n {
            let off = usize::try_from(word(8 + 8 * i)?).map_err(|_| bad("a negative offset"))?;
            let last = offsets.last().copied().unwrap_or(0);
            if (i == 0 && off != 0) || off < last || (i > 0 && off - last < 8) {
                return Err(bad("slot offsets out of order"));
            }
            offsets.push(off);
        }
        let end = ((n + 2) * 8).checked_add(offsets[n]).and_then(|e| e.checked_add(9 * n));
        if end.is_none_or(|e| e > shm.size()) {
            return Err(bad("slots reaching past the block"));
        }
        Ok(ShareableList { shm, len: n, offsets })
    }

    /// The number of items.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::ShareableList::create(None, [1, 2, 3])?;
    /// assert_eq!(l.len(), 3);
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no items.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::ShareableList::create(None, Vec::<i64>::new())?;
    /// assert!(l.is_empty());
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block the list lives in (to `unlink` it, or for its name).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::ShareableList::create(None, [1])?;
    /// assert!(l.shm().name().starts_with("psm_"));
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn shm(&self) -> &SharedMemory {
        &self.shm
    }

    fn slot(&self, index: isize) -> Result<usize, ListError> {
        let len = self.len;
        let i = if index < 0 { index.checked_add(len as isize) } else { Some(index) };
        match i {
            Some(i) if i >= 0 && (i as usize) < len => Ok(i as usize),
            _ => Err(ListError::OutOfRange { index, len }),
        }
    }

    fn data_at(&self, i: usize) -> usize {
        (self.len + 2) * 8 + self.offsets[i]
    }

    fn formats_at(&self) -> usize {
        self.data_at(self.len)
    }

    /// Item `index` (negative counts from the end).
    ///
    /// # Errors
    ///
    /// [`ListError::OutOfRange`]; [`ListError::Corrupt`] if the slot holds
    /// no valid value.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let l = ipc::ShareableList::create(None, ["a", "b"])?;
    /// assert_eq!(l.get(-1)?, "b".into());
    /// assert!(l.get(2).is_err());
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, index: isize) -> Result<Item, ListError> {
        let i = self.slot(index)?;
        let corrupt = || ListError::Corrupt(i);
        let mut format = [0u8; 8];
        let mut code = [0u8; 1];
        self.shm.read_at(self.formats_at() + 8 * i, &mut format).map_err(|_| corrupt())?;
        self.shm.read_at(self.formats_at() + 8 * self.len + i, &mut code).map_err(|_| corrupt())?;
        let end = format.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        let format = std::str::from_utf8(&format[..end]).map_err(|_| corrupt())?;
        let room = self.offsets[i + 1] - self.offsets[i];
        let mut word = [0u8; 8];
        let read_word = |w: &mut [u8; 8]| self.shm.read_at(self.data_at(i), w).map_err(|_| corrupt());
        match (format, code[0]) {
            ("q", NUMBER) => read_word(&mut word).map(|()| Item::Int(i64::from_ne_bytes(word))),
            ("d", NUMBER) => read_word(&mut word).map(|()| Item::Float(f64::from_ne_bytes(word))),
            (BOOL_FORMAT, NUMBER) => read_word(&mut word).map(|()| Item::Bool(word[7] != 0)),
            (NONE_FORMAT, NONE) => Ok(Item::None),
            (f, code @ (STR | BYTES)) => {
                let n: usize = f.strip_suffix('s').and_then(|n| n.parse().ok()).ok_or_else(corrupt)?;
                if n > room {
                    return Err(corrupt());
                }
                let mut bytes = vec![0u8; n];
                self.shm.read_at(self.data_at(i), &mut bytes).map_err(|_| corrupt())?;
                let kept = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                bytes.truncate(kept);
                if code == STR {
                    String::from_utf8(bytes).map(Item::Str).map_err(|_| corrupt())
                } else {
                    Ok(Item::Bytes(bytes))
                }
            }
            _ => Err(corrupt()),
        }
    }

    /// Sets item `index` (negative counts from the end); it may change the
    /// slot's type.
    ///
    /// # Errors
    ///
    /// [`ListError::OutOfRange`]; [`ListError::TooLarge`] if the value
    /// needs more than the slot's storage (nothing is written).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let l = ipc::ShareableList::create(None, ["abc"])?; // an 8-byte slot
    /// l.set(0, 3.5)?;
    /// l.set(0, b"12345678")?;
    /// assert!(matches!(l.set(0, "123456789"), Err(ipc::shared::ListError::TooLarge { needed: 9, room: 8 })));
    /// assert_eq!(l.get(0)?, b"12345678".into());
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn set(&self, index: isize, value: impl Into<Item>) -> Result<(), ListError> {
        let i = self.slot(index)?;
        let room = self.offsets[i + 1] - self.offsets[i];
        let (format, code, bytes) = encode(&value.into(), room)?;
        let mut f = [0u8; 8];
        f[..format.len()].copy_from_slice(format.as_bytes());
        let corrupt = |_| ListError::Corrupt(i);
        self.shm.write_at(self.data_at(i), &bytes).map_err(corrupt)?;
        self.shm.write_at(self.formats_at() + 8 * i, &f).map_err(corrupt)?;
        self.shm.write_at(self.formats_at() + 8 * self.len + i, &[code]).map_err(corrupt)?;
        Ok(())
    }

    /// The items in order (each read when the iterator reaches it).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let l = ipc::ShareableList::create(None, [1, 2])?;
    /// let items: Result<Vec<_>, _> = l.iter().collect();
    /// assert_eq!(items?, [1.into(), 2.into()]);
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Result<Item, ListError>> + '_ {
        (0..self.len).map(|i| self.get(i as isize))
    }

    /// The first index holding a value equal to `value` (Python's
    /// `index`, which raises `ValueError` where this is `None`). Slots that
    /// hold no valid value match nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::ShareableList::create(None, [5, 6, 7])?;
    /// assert_eq!(l.index(&7.into()), Some(2));
    /// assert_eq!(l.index(&6.0.into()), Some(1), "6 == 6.0, as in Python");
    /// assert_eq!(l.index(&8.into()), None);
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn index(&self, value: &Item) -> Option<usize> {
        self.iter().position(|item| item.is_ok_and(|item| item == *value))
    }

    /// How many items equal `value` (Python's `count`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::ShareableList::create(None, [b"HoWdY".as_slice(), b"x"])?;
    /// assert_eq!(l.count(&b"howdy".into()), 0);
    /// assert_eq!(l.count(&b"HoWdY".into()), 1);
    /// l.shm().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn count(&self, value: &Item) -> usize {
        self.iter().filter(|item| item.as_ref().is_ok_and(|item| item == value)).count()
    }
}
