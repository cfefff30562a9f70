//! Where a new node goes when nobody said: right of the rightmost node in the same group.

use std::collections::HashMap;

use crate::plugin::types::Position;

use super::ids::NodeId;
use super::model::{Graph, Node};

/// Horizontal distance between a node placed automatically and its rightmost sibling.
pub const AUTO_PLACE_STEP: f64 = 320.0;

/// Places nodes during one batch of edits, remembering each group's rightmost position so a
/// batch adding many nodes to one group looks at the group's nodes once.
#[derive(Default)]
pub(super) struct Placer {
    rightmost: HashMap<Option<NodeId>, Option<Position>>,
}

impl Placer {
    /// A free place inside `parent` (`None`: the top level): [`AUTO_PLACE_STEP`] right of the
    /// rightmost node there, level with it; the origin when the group is empty.
    pub(super) fn free_place(&mut self, graph: &Graph, parent: Option<&NodeId>) -> Position {
        let rightmost = *self
            .rightmost
            .entry(parent.cloned())
            .or_insert_with(|| match parent {
                Some(parent) => rightmost(graph.children_of(parent.as_str())),
                None => rightmost(graph.top_level()),
            });
        rightmost.map_or_else(Position::default, |position| Position {
            x: position.x + AUTO_PLACE_STEP,
            y: position.y,
        })
    }

    /// Notes that a node now sits at `position` inside `parent`.
    pub(super) fn placed(&mut self, parent: Option<&NodeId>, position: Position) {
        if let Some(rightmost) = self.rightmost.get_mut(&parent.cloned())
            && usable(position)
            && rightmost.is_none_or(|known| further_right(position, known))
        {
            *rightmost = Some(position);
        }
    }
}

fn rightmost<'a>(nodes: impl Iterator<Item = &'a Node>) -> Option<Position> {
    nodes
        .map(|node| node.position)
        .filter(|&position| usable(position))
        .reduce(|best, position| {
            if further_right(position, best) {
                position
            } else {
                best
            }
        })
}

fn usable(position: Position) -> bool {
    position.x.is_finite() && position.y.is_finite()
}

/// Further right, or as far right and higher up.
fn further_right(a: Position, b: Position) -> bool {
    a.x > b.x || (a.x == b.x && a.y < b.y)
}
