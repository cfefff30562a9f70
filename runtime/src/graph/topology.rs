//! A compact, read-only copy of a graph's connections for whole-graph algorithms.
//!
//! Nodes become dense numbers (`0..n`, in the order given) and edges become successor lists,
//! so cycle search and ordering run over plain integer arrays instead of id maps.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use super::ids::NodeId;
use super::model::Graph;
use super::numbering::Numbering;

/// Successor lists over dense node numbers, with the ids they stand for.
pub(super) struct Topology<'g> {
    /// The ids and their numbers.
    pub(super) numbering: Numbering<'g>,
    /// `targets[offsets[v]..offsets[v + 1]]` are the successors of `v`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

/// Marks a node that is in no cycle.
const NO_COMPONENT: u32 = u32::MAX;

/// Marks a node the cycle search has not reached yet.
const UNSEEN: u32 = u32::MAX;

impl<'g> Topology<'g> {
    /// Builds successor lists from `(source, target)` pairs of numbers of `numbering`,
    /// keeping the pairs' order within each list.
    pub(super) fn new(numbering: Numbering<'g>, arcs: &[(u32, u32)]) -> Topology<'g> {
        let n = numbering.len();
        let mut offsets = vec![0u32; n + 1];
        for &(source, _) in arcs {
            offsets[source as usize + 1] += 1;
        }
        for v in 0..n {
            offsets[v + 1] += offsets[v];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; arcs.len()];
        for &(source, target) in arcs {
            let slot = &mut fill[source as usize];
            targets[*slot as usize] = target;
            *slot += 1;
        }
        Topology {
            numbering,
            offsets,
            targets,
        }
    }

    /// The whole graph, nodes in id order; edges to or from missing nodes are left out.
    pub(super) fn whole(graph: &'g Graph) -> Topology<'g> {
        let numbering = Numbering::new(graph.nodes().map(|node| &node.id).collect());
        let arcs: Vec<(u32, u32)> = graph
            .edges()
            .filter_map(|edge| Some((numbering.get(&edge.source)?, numbering.get(&edge.target)?)))
            .collect();
        Topology::new(numbering, &arcs)
    }

    /// The part of the graph reachable from `starts` along edges (the starts included, in the
    /// order given, then the rest in breadth-first order).
    pub(super) fn reachable(graph: &'g Graph, starts: &[&'g NodeId]) -> Topology<'g> {
        let mut numbering = Numbering::new(Vec::new());
        for &start in starts {
            if let Some(node) = graph.node(start.as_str()) {
                numbering.get_or_add(&node.id);
            }
        }
        let mut arcs = Vec::new();
        let mut next = 0;
        while next < numbering.len() {
            let source = numbering.ids[next];
            for target in graph.targets_of(source.as_str()) {
                let number = match numbering.get(target) {
                    Some(number) => number,
                    None => match graph.node(target.as_str()) {
                        Some(target) => numbering.get_or_add(&target.id),
                        None => continue,
                    },
                };
                arcs.push((next as u32, number));
            }
            next += 1;
        }
        Topology::new(numbering, &arcs)
    }

    /// The id of a number.
    pub(super) fn id(&self, v: u32) -> &'g NodeId {
        self.numbering.ids[v as usize]
    }

    /// How many nodes there are.
    pub(super) fn len(&self) -> usize {
        self.numbering.len()
    }

    /// The number of the node with this id.
    pub(super) fn number_of(&self, id: &str) -> Option<u32> {
        self.numbering.get_text(id)
    }

    fn successors(&self, v: u32) -> &[u32] {
        &self.targets[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }

    /// The strongly connected components that contain a cycle (two or more nodes, or one node
    /// with an edge to itself), each sorted, ordered by their smallest member (Tarjan's
    /// algorithm, without recursion).
    pub(super) fn cyclic_components(&self) -> Components {
        let n = self.len();
        let mut tarjan = Tarjan {
            order: vec![UNSEEN; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            calls: Vec::new(),
            counter: 0,
        };
        let mut components: Vec<Vec<u32>> = Vec::new();
        for root in 0..n as u32 {
            if tarjan.order[root as usize] != UNSEEN {
                continue;
            }
            tarjan.visit(root, self.offsets[root as usize]);
            while let Some(&mut (v, ref mut cursor)) = tarjan.calls.last_mut() {
                let vi = v as usize;
                if *cursor < self.offsets[vi + 1] {
                    let w = self.targets[*cursor as usize];
                    *cursor += 1;
                    if tarjan.order[w as usize] == UNSEEN {
                        tarjan.visit(w, self.offsets[w as usize]);
                    } else if tarjan.on_stack[w as usize] {
                        tarjan.low[vi] = tarjan.low[vi].min(tarjan.order[w as usize]);
                    }
                    continue;
                }
                tarjan.calls.pop();
                if let Some(&(parent, _)) = tarjan.calls.last() {
                    let parent = parent as usize;
                    tarjan.low[parent] = tarjan.low[parent].min(tarjan.low[vi]);
                }
                if tarjan.low[vi] == tarjan.order[vi] {
                    let mut component = Vec::new();
                    while let Some(w) = tarjan.stack.pop() {
                        tarjan.on_stack[w as usize] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 || self.successors(v).contains(&v) {
                        component.sort_unstable();
                        components.push(component);
                    }
                }
            }
        }
        components.sort_unstable_by_key(|component| component[0]);
        let mut member_of = vec![NO_COMPONENT; n];
        for (number, component) in components.iter().enumerate() {
            for &v in component {
                member_of[v as usize] = number as u32;
            }
        }
        Components {
            list: components,
            member_of,
        }
    }

    /// A shortest path `from → … → to` through nodes of `component` only, both ends included;
    /// `[from]` when they are the same node.
    pub(super) fn path_within(
        &self,
        components: &Components,
        component: u32,
        from: u32,
        to: u32,
    ) -> Option<Vec<u32>> {
        if from == to {
            return Some(vec![from]);
        }
        let mut came_from: HashMap<u32, u32> = HashMap::from([(from, from)]);
        let mut queue = VecDeque::from([from]);
        while let Some(v) = queue.pop_front() {
            for &w in self.successors(v) {
                if components.member_of[w as usize] != component || came_from.contains_key(&w) {
                    continue;
                }
                came_from.insert(w, v);
                if w == to {
                    let mut path = vec![to];
                    let mut at = to;
                    while at != from {
                        at = came_from[&at];
                        path.push(at);
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(w);
            }
        }
        None
    }

    /// A shortest cycle through `start` inside its component: `[start, …]`, each node followed
    /// by its successor and the last one leading back to `start`.
    pub(super) fn cycle_through(&self, components: &Components, start: u32) -> Vec<u32> {
        let component = components.member_of[start as usize];
        if self.successors(start).contains(&start) {
            return vec![start];
        }
        let mut best: Option<Vec<u32>> = None;
        for &next in self.successors(start) {
            if components.member_of[next as usize] != component {
                continue;
            }
            if let Some(path) = self.path_within(components, component, next, start)
                && best.as_ref().is_none_or(|best| path.len() < best.len())
            {
                best = Some(path);
            }
        }
        let mut cycle = vec![start];
        if let Some(path) = best {
            cycle.extend(&path[..path.len() - 1]);
        }
        cycle
    }

    /// Every node, each after all its predecessors (ties in dense order); `None` on a cycle.
    pub(super) fn topological(&self) -> Option<Vec<u32>> {
        let n = self.len();
        let mut waiting = vec![0u32; n];
        for &target in &self.targets {
            waiting[target as usize] += 1;
        }
        let mut ready: BinaryHeap<Reverse<u32>> = (0..n as u32)
            .filter(|&v| waiting[v as usize] == 0)
            .map(Reverse)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(v)) = ready.pop() {
            order.push(v);
            for &w in self.successors(v) {
                waiting[w as usize] -= 1;
                if waiting[w as usize] == 0 {
                    ready.push(Reverse(w));
                }
            }
        }
        (order.len() == n).then_some(order)
    }
}

/// Working state of [`Topology::cyclic_components`].
struct Tarjan {
    order: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    stack: Vec<u32>,
    /// The depth-first path: each node with the next successor slot to look at.
    calls: Vec<(u32, u32)>,
    counter: u32,
}

impl Tarjan {
    fn visit(&mut self, v: u32, first_slot: u32) {
        self.order[v as usize] = self.counter;
        self.low[v as usize] = self.counter;
        self.counter += 1;
        self.stack.push(v);
        self.on_stack[v as usize] = true;
        self.calls.push((v, first_slot));
    }
}

/// The cyclic strongly connected components of a [`Topology`].
pub(super) struct Components {
    /// Each component's members, sorted.
    pub(super) list: Vec<Vec<u32>>,
    /// For each node, the index of its component in `list`, or [`NO_COMPONENT`].
    member_of: Vec<u32>,
}

impl Components {
    /// The component `v` belongs to, if it is on a cycle.
    pub(super) fn of(&self, v: u32) -> Option<u32> {
        let component = self.member_of[v as usize];
        (component != NO_COMPONENT).then_some(component)
    }
}
