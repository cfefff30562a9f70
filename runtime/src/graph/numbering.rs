//! Dense numbers for node ids, looked up by the id's shared allocation first.
//!
//! The graph makes every reference to an existing node (edge ends, parents) share that node's
//! id allocation, so most lookups hash one address instead of the id's text. Addresses are not
//! chosen by users, so the cheap address hash cannot be flooded with collisions; text lookups
//! (ids that do not share, or come from outside the graph) use the standard hasher.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::ids::NodeId;

/// A map keyed by [`NodeId::address`]: valid for ids the graph shares (its nodes' own ids).
pub(super) type AddressMap<V> = HashMap<usize, V, BuildHasherDefault<AddressHasher>>;

/// Node ids numbered `0..len` in the order they were added.
pub(super) struct Numbering<'g> {
    /// The id of each number.
    pub(super) ids: Vec<&'g NodeId>,
    by_address: AddressMap<u32>,
    by_text: OnceCell<HashMap<&'g str, u32>>,
}

impl<'g> Numbering<'g> {
    /// Numbers `ids` in order; the ids must be distinct.
    pub(super) fn new(ids: Vec<&'g NodeId>) -> Numbering<'g> {
        let mut by_address = AddressMap::with_capacity_and_hasher(ids.len(), Default::default());
        for (number, id) in ids.iter().enumerate() {
            by_address.insert(id.address(), number as u32);
        }
        Numbering {
            ids,
            by_address,
            by_text: OnceCell::new(),
        }
    }

    /// How many ids are numbered.
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The number of `id`.
    pub(super) fn get(&self, id: &NodeId) -> Option<u32> {
        match self.by_address.get(&id.address()) {
            Some(&number) => Some(number),
            None => self.get_text(id.as_str()),
        }
    }

    /// The number of the id with this text.
    pub(super) fn get_text(&self, id: &str) -> Option<u32> {
        self.by_text
            .get_or_init(|| {
                self.ids
                    .iter()
                    .enumerate()
                    .map(|(number, id)| (id.as_str(), number as u32))
                    .collect()
            })
            .get(id)
            .copied()
    }

    /// The number of `id`, numbering it next if it has none.
    pub(super) fn get_or_add(&mut self, id: &'g NodeId) -> u32 {
        if let Some(number) = self.get(id) {
            return number;
        }
        let number = self.ids.len() as u32;
        self.ids.push(id);
        self.by_address.insert(id.address(), number);
        if let Some(by_text) = self.by_text.get_mut() {
            by_text.insert(id.as_str(), number);
        }
        number
    }
}

/// Hashes allocation addresses: drops the alignment bits, then multiplies and folds.
#[derive(Default)]
pub(super) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        let mixed = ((address as u64) >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = mixed ^ (mixed >> 29);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
