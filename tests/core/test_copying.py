"""The outlet copier returns exactly what ``copy.deepcopy`` returns: types, values, sharing, cycles."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from databay import Inlet, Link, Outlet
from databay.copying import copy_payload, copy_records
from databay.record import Record, records_sharing


# Subclasses of the plain types: deepcopy keeps their class (marshal turned them into the base type).
class SubDict(dict):
    pass


class SubList(list):
    pass


class SubStr(str):
    pass


class Box:
    def __init__(self, content: Any):
        self.content = content


class SubRecord(Record):
    __slots__ = ("extra",)


def sub_record(payload: Any) -> SubRecord:
    record = SubRecord(payload)
    record.extra = [payload]
    return record


class ClaimsToBeARecord:
    """A proxy whose ``__class__`` says Record: ``isinstance`` believes it."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return Record


@dataclass(frozen=True)
class Key:
    """A hashable class instance: deepcopy copies dict keys like this one."""

    value: int


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers(), st.text(max_size=3), st.binary(max_size=3)
)
KEYS = st.one_of(
    st.text(max_size=3), st.integers(), st.tuples(st.integers(), st.text(max_size=2)), st.builds(Key, st.integers()),
    st.text(max_size=3).map(SubStr),
)
EXOTIC = st.one_of(st.binary(max_size=3).map(bytearray), st.builds(Box, SCALARS), st.integers().map(SubStr))


def containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(KEYS, children, max_size=3),
        st.lists(children, max_size=3).map(SubList),
        st.dictionaries(KEYS, children, max_size=3).map(SubDict),
        st.builds(Box, children),
    )


def payloads(leaves: st.SearchStrategy = SCALARS | EXOTIC) -> st.SearchStrategy:
    return st.recursive(leaves, containers, max_leaves=8)


def nodes(value: Any, found: list) -> None:
    """Every object reachable from ``value`` through containers, records and attributes, once each."""
    if any(value is seen for seen in found):
        return
    found.append(value)
    for child in children(value):
        nodes(child, found)


def children(value: Any) -> list:
    if isinstance(value, Record):
        return [getattr(value, slot) for cls in type(value).__mro__ for slot in getattr(cls, "__slots__", ())]
    items: list = []
    if isinstance(value, dict):
        items = [part for pair in value.items() for part in pair]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    return items + list(getattr(value, "__dict__", {}).values())


def link_up(draw: st.DrawFn, roots: list) -> None:
    """Put references to already drawn objects into mutable containers: shared references and cycles."""
    found: list = []
    for root in roots:
        nodes(root, found)
    holders = [node for node in found if type(node) in (list, dict, SubList, SubDict, Box)]
    for _ in range(draw(st.integers(0, 4)) if holders else 0):
        holder, target = draw(st.sampled_from(holders)), draw(st.sampled_from(found))
        if isinstance(holder, list):
            holder.append(target)
        elif isinstance(holder, dict):
            holder[draw(KEYS)] = target
        else:
            holder.content = target


@st.composite
def graphs(draw: st.DrawFn, leaves: st.SearchStrategy = SCALARS | EXOTIC) -> Any:
    root = draw(payloads(leaves))
    link_up(draw, [root])
    return root


EXTRAS = ["linked", "payload twice", "inner shared", "record twice", "record subclass", "nested metadata",
          "metadata subclass", "user metadata", "aliased"]


@st.composite
def batches(draw: st.DrawFn, roots: st.SearchStrategy) -> list[Record]:
    """Records from an inlet (sharing metadata until read), with the ways a batch can share objects."""
    payloads = draw(roots)
    extras = draw(st.sets(st.sampled_from(EXTRAS), max_size=3))  # few at a time: each also meets a flat batch
    if "linked" in extras:
        link_up(draw, payloads)
    if "payload twice" in extras:
        payloads.append(draw(st.sampled_from(payloads)))
    if "inner shared" in extras:  # one list inside two payloads: one list in the copies too
        inner = ["shared"]
        for holder in [payload for payload in payloads if isinstance(payload, (list, dict))][:2]:
            if isinstance(holder, list):
                holder.append(inner)
            else:
                holder["inner"] = inner
    inlet_metadata = {"__inlet__": "I", "tags": ["a"]} if "nested metadata" in extras else {"__inlet__": "I"}
    if "metadata subclass" in extras:
        inlet_metadata = SubDict(inlet_metadata)
    records = records_sharing(payloads, inlet_metadata)
    for record in records:
        if draw(st.booleans()):
            record.metadata["read"] = True  # a private copy: shared and private metadata interleave
    if "user metadata" in extras:  # one dict given to several Records: not copy-on-read, still one dict
        given_metadata = {"source": "user"}
        records += [Record(payload, given_metadata) for payload in draw(st.lists(SCALARS, min_size=2, max_size=3))]
    if "aliased" in extras:  # one record's metadata is another's payload
        alias = {"k": 1}
        records += [Record(alias), Record({"k": 2}, alias)]
    if "record subclass" in extras:
        records.insert(draw(st.integers(0, len(records))), sub_record(draw(FLAT_DICTS)))
    if "record twice" in extras:
        records.append(draw(st.sampled_from(records)))
    return records


FLAT_DICTS = st.dictionaries(st.text(max_size=3), SCALARS, max_size=3)
FLAT_LISTS = st.lists(SCALARS, max_size=3)
FLAT_BATCHES = st.one_of(
    st.lists(SCALARS, min_size=1, max_size=6),
    st.lists(FLAT_DICTS, min_size=1, max_size=6),
    st.lists(FLAT_LISTS, min_size=1, max_size=6),
)
# Payloads one step away from flat, which must not be copied as if they were: subclasses of dict and
# list, nested containers, tuples holding lists, keys deepcopy copies, exotic leaves.
NEAR_FLAT = st.one_of(
    FLAT_DICTS.map(SubDict),
    FLAT_LISTS.map(SubList),
    st.dictionaries(st.text(max_size=3), FLAT_LISTS | FLAT_DICTS, min_size=1, max_size=2),
    st.lists(FLAT_LISTS | FLAT_DICTS, min_size=1, max_size=2),
    st.tuples(FLAT_LISTS, SCALARS),
    st.dictionaries(st.text(max_size=3), st.tuples(FLAT_LISTS, SCALARS), min_size=1, max_size=2),
    st.lists(st.tuples(FLAT_LISTS), min_size=1, max_size=2),
    st.dictionaries(KEYS, SCALARS, min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=3), EXOTIC, min_size=1, max_size=2),
    st.lists(EXOTIC, min_size=1, max_size=2),
)
# Flat batches with a near-flat payload among them, anywhere.
MOSTLY_FLAT_BATCHES = st.one_of(
    st.tuples(st.lists(FLAT_DICTS, max_size=5), NEAR_FLAT, st.lists(FLAT_DICTS, max_size=5)),
    st.tuples(st.lists(FLAT_LISTS, max_size=5), NEAR_FLAT, st.lists(FLAT_LISTS, max_size=5)),
    st.tuples(st.lists(SCALARS, max_size=5), NEAR_FLAT | EXOTIC, st.lists(SCALARS, max_size=5)),
).map(lambda parts: [*parts[0], parts[1], *parts[2]])


def assert_mirrors(copied: Any, expected: Any, originals: dict[int, Any], pairs: dict[int, int] | None = None) -> None:
    """``copied`` is ``expected`` (deepcopy's result) up to identity of the objects deepcopy made.

    Same types and values everywhere; the same sharing (one object in one is one object in the
    other, cycles included); and an object of the original appears in ``copied`` exactly where
    deepcopy kept it (scalars, unchanged tuples), so nothing else is shared with the original.
    """
    pairs = {} if pairs is None else pairs
    if id(expected) in pairs:
        assert pairs[id(expected)] == id(copied)
        return
    assert id(copied) not in pairs.values()
    pairs[id(expected)] = id(copied)
    assert type(copied) is type(expected)
    if id(expected) in originals or id(copied) in originals:
        assert copied is expected
        return
    if isinstance(expected, (str, bytes, bytearray, int, float, complex)):
        assert repr(copied) == repr(expected)  # repr: NaN and -0.0 compare too
    elif type(expected).__module__ == "numpy":
        assert (copied.dtype, copied.shape, copied.tobytes()) == (expected.dtype, expected.shape, expected.tobytes())
    copied_children, expected_children = children(copied), children(expected)
    assert len(copied_children) == len(expected_children)
    for copied_child, expected_child in zip(copied_children, expected_children, strict=True):
        assert_mirrors(copied_child, expected_child, originals, pairs)


def assert_deepcopy_equivalent(original: Any, copied: Any) -> None:
    found: list = []
    nodes(original, found)
    assert_mirrors(copied, copy.deepcopy(original), {id(node): node for node in found})


@given(graphs())
def test_copy_payload_is_deepcopy(payload):
    assert_deepcopy_equivalent(payload, copy_payload(payload))


@given(batches(st.lists(graphs(), min_size=1, max_size=5)))
def test_copy_records_is_deepcopy_of_the_batch(records):
    assert_deepcopy_equivalent(records, copy_records(records))


@settings(max_examples=300)
@given(batches(FLAT_BATCHES))
def test_flat_batches_are_deepcopies_too(records):
    assert_deepcopy_equivalent(records, copy_records(records))


@settings(max_examples=300)
@given(batches(MOSTLY_FLAT_BATCHES))
def test_near_flat_payloads_among_flat_ones_are_deepcopies_too(records):
    assert_deepcopy_equivalent(records, copy_records(records))


@settings(max_examples=50)
@given(batches(st.lists(graphs(), min_size=1, max_size=5)))
def test_changing_copies_leaves_the_originals_alone(records):
    before = copy.deepcopy(records)
    found: list = []
    nodes(copy_records(records), found)
    for node in found:
        if isinstance(node, list):
            node.append("changed")
        elif isinstance(node, dict):
            node["changed"] = True
        elif isinstance(node, bytearray):
            node.extend(b"!")
        elif isinstance(node, Record):
            node.payload = "changed"
        elif isinstance(node, Box):
            node.content = "changed"
    assert_mirrors(records, before, {})


def test_numpy_payloads_are_deepcopied():
    np = pytest.importorskip("numpy")
    leaves = SCALARS | EXOTIC | st.floats().map(np.float64) | st.integers(-5, 5).map(np.int64)
    leaves |= st.lists(st.floats(width=32), max_size=3).map(np.array)

    @given(batches(st.lists(graphs(leaves), min_size=1, max_size=5)))
    def check(records):
        assert_deepcopy_equivalent(records, copy_records(records))

    check()


def test_shared_metadata_stays_shared_and_copy_on_read():
    metadata = {"__inlet__": "I"}
    records = records_sharing([{"a": 1}, {"a": 2}, {"a": 3}], metadata)
    records[1].metadata["read"] = True
    copies = copy_records(records)
    assert copies[0]._metadata is copies[2]._metadata is not metadata
    assert copies[1]._metadata == {"__inlet__": "I", "read": True} and not copies[1]._shared
    copies[0].metadata["x"] = 1
    assert "x" not in copies[2].metadata and "x" not in metadata


@pytest.mark.parametrize("payload", [1, {"a": 1}, [1]])
def test_sharing_across_records_is_kept(payload):
    record = Record(payload)
    first, second, third = copy_records([record, Record(payload), record])
    assert first is third is not record
    assert first.payload is second.payload and first.payload == payload


def test_metadata_that_is_also_a_payload_is_one_copy():
    alias = {"k": 1}
    copies = copy_records([Record({"k": 0}), Record(alias), Record({"k": 2}, alias)])
    assert copies[1].payload is copies[2]._metadata is not alias


class Spy:
    """Notes the originals the memo keeps alive when deepcopy reaches it (custom code may rely on them)."""

    def __deepcopy__(self, memo: dict) -> Spy:
        self.kept = [id(original) for original in memo.get(id(memo), [])]
        return Spy()


def test_custom_deepcopy_gets_the_memo_deepcopy_would_give_it():
    spy, inner = Spy(), [1]
    payload = [{"a": inner}, (inner, 2), spy]
    copy.deepcopy(payload)
    expected = spy.kept
    copy_payload(payload)
    assert spy.kept == expected == [id(inner), id(payload[0]), id(payload[1])]


def test_batches_with_other_things_than_records_are_deepcopied():
    sub = sub_record({"a": 1})
    for batch in ([Record({"a": 1}), {"not": "a record"}], [Record({"a": 1}), sub], [sub]):
        assert_deepcopy_equivalent(batch, copy_records(batch))


@pytest.mark.parametrize("payload", [bytearray(b"ab"), [bytearray(b"ab")], {"a": bytearray(b"ab")}])
def test_bytearray_stays_bytearray(payload):
    (copied,) = copy_records([Record(payload)])
    assert type(copied.payload) is type(payload)
    assert_deepcopy_equivalent(payload, copied.payload)


def test_memoryview_is_never_turned_into_bytes():
    """deepcopy cannot copy a view (databay 0.3 raised too); the copy must not quietly become bytes."""
    for payload in (memoryview(b"ab"), {"a": memoryview(b"ab")}):
        with pytest.raises(TypeError, match="memoryview"):
            copy.deepcopy(payload)
        with pytest.raises(TypeError, match="memoryview"):
            copy_records([Record(payload)])


def test_numpy_float64_and_ndarray_stay_numpy():
    np = pytest.importorskip("numpy")
    array = np.arange(4.0)
    batch = [Record(np.float64(1.5)), Record({"x": np.float64(2.5)}), Record(array), Record({"a": array})]
    copies = copy_records(batch)
    assert type(copies[0].payload) is np.float64 and copies[0].payload == 1.5
    assert type(copies[1].payload["x"]) is np.float64
    assert type(copies[2].payload) is np.ndarray and copies[2].payload is not array
    assert copies[3].payload["a"] is copies[2].payload  # one array in the batch: one copy
    assert_deepcopy_equivalent(batch, copies)


@given(st.lists(st.one_of(SCALARS, FLAT_DICTS, st.builds(Record, SCALARS), st.builds(sub_record, SCALARS),
                          st.builds(ClaimsToBeARecord)), max_size=6))
def test_records_sharing_wraps_payloads_and_passes_records_through(payloads):
    """The inlet's bulk wrapper: what ``isinstance`` calls a Record is kept, anything else is wrapped."""
    metadata = {"__inlet__": "I"}
    records = records_sharing(payloads, metadata)
    assert len(records) == len(payloads)
    for record, payload in zip(records, payloads, strict=True):
        if isinstance(payload, Record):
            assert record is payload
        else:
            assert type(record) is Record and record.payload is payload
            assert record._metadata is metadata and record._shared


# The transfer-level path: one inlet, no link processors or groupers, so each outlet's copy is made
# from what the pull returned (copying.copies_of_pull). What each outlet gets must still be
# deepcopy(the batch the inlet would have made), for every outlet, whatever an earlier one did.

class Pulls(Inlet):
    def __init__(self, data: Any, metadata: dict | None = None):
        super().__init__(metadata)
        self.data = data

    def pull(self, update):
        return self.data

    def __repr__(self) -> str:
        return "Pulls()"  # one str object, the label of every pull: the expected batch can hold it too


class Keeps(Outlet):
    def __init__(self, processors: list | None = None):
        super().__init__(processors=processors)
        self.batches: list[list[Record]] = []

    def push(self, records, update):
        self.batches.append(records)


def spoil(records: list[Record]) -> list[Record]:
    """An outlet processor changing everything it was given, metadata dicts included (even the
    private one, which outlets should not touch): later outlets must not see any of it."""
    found: list = []
    nodes(records, found)
    for node in found:
        if isinstance(node, Record):
            node._metadata["spoiled"] = True
            node.payload = "spoiled"
        elif isinstance(node, list):
            node.append("spoiled")
        elif isinstance(node, dict):
            node["spoiled"] = True
    return records


PULLS = st.one_of(
    FLAT_BATCHES, MOSTLY_FLAT_BATCHES, st.lists(graphs(), min_size=1, max_size=4),
    FLAT_DICTS, SCALARS,  # one record, not in a list
    st.lists(st.one_of(FLAT_DICTS, st.builds(Record, FLAT_DICTS)), min_size=1, max_size=3),  # Records pass through
    st.lists(FLAT_DICTS | FLAT_LISTS, min_size=1, max_size=3).map(lambda pulled: pulled + pulled[-1:]),  # one twice
    st.just([]),
)
INLET_METADATA = st.one_of(
    st.just({}), st.just({"source": "s", "n": 1}), st.just({"tags": ["a"]}), st.just(SubDict({"k": 1})),
    st.just({"key": ("t", 1)}),
)


@settings(max_examples=300, deadline=None)  # the first transfer loads the plugins
@given(PULLS, INLET_METADATA, st.integers(1, 3), st.booleans(), st.data())
def test_each_outlet_of_a_lone_inlet_gets_a_deepcopy_of_the_batch(data, inlet_metadata, outlets, spoiler, draw):
    if draw.draw(st.booleans()) and isinstance(data, list):
        link_up(draw.draw, data)  # shared references and cycles: never the flat path
    before = copy.deepcopy(data)
    inlet = Pulls(data, inlet_metadata)
    keepers = [Keeps() for _ in range(outlets)]
    link = Link(inlet, ([Keeps([spoil])] if spoiler else []) + keepers, 1)
    for _ in range(2):  # a second transfer pulls the same objects again
        link.transfer()
    assert_mirrors(data, before, {})  # nothing reached the inlet's own objects
    expected = records_sharing(data if isinstance(data, list) else [data], {**inlet_metadata, "__inlet__": repr(inlet)})
    seen: list = []  # every object any outlet was given: no two outlets share one
    for keeper in keepers:
        for batch in keeper.batches:
            assert_deepcopy_equivalent(expected, batch)
            found: list = []
            nodes(batch, found)
            shared = [node for node in found if isinstance(node, (list, dict, Record)) and any(node is other for other in seen)]
            assert not shared
            seen += found


def test_records_of_a_flat_pull_share_one_metadata_copy_per_outlet():
    inlet = Pulls([{"a": 1}, {"a": 2}], {"source": "s"})
    first, second = Keeps(), Keeps()
    Link(inlet, [first, second], 1).transfer()
    (mine,), (theirs,) = first.batches, second.batches
    assert mine[0]._metadata is mine[1]._metadata and mine[0]._shared and mine[1]._shared
    assert theirs[0]._metadata is theirs[1]._metadata is not mine[0]._metadata
    assert mine[0]._metadata == theirs[0]._metadata == {"source": "s", "__inlet__": repr(inlet)}
    mine[0].metadata["read"] = True  # copy-on-read, as in any batch
    assert "read" not in mine[1].metadata and "read" not in theirs[0].metadata
    assert all(copied.payload is not original for copied, original in zip(mine + theirs, inlet.data * 2, strict=True))
