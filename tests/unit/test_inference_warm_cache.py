from inference.warm_cache import WarmCache


def sized(budget: int, evicted: list[str] | None = None) -> WarmCache[str, int]:
    sink = evicted if evicted is not None else []
    return WarmCache(budget, size_of=lambda v: v, on_evict=lambda k, v: sink.append(k))


def test_a_second_get_does_not_load_again() -> None:
    cache = sized(100)
    loads: list[str] = []
    for _ in range(2):
        cache.get("sd15", lambda: loads.append("sd15") or 10)
    assert loads == ["sd15"]
    assert cache.stats().hits == 1 and cache.stats().misses == 1


def test_loading_past_the_budget_evicts_the_least_recently_used() -> None:
    evicted: list[str] = []
    cache = sized(100, evicted)
    cache.get("a", lambda: 40)
    cache.get("b", lambda: 40)
    cache.get("a", lambda: 40)  # a is now more recent than b
    cache.get("c", lambda: 40)
    assert evicted == ["b"]
    assert cache.keys() == ["a", "c"]
    assert cache.bytes_held == 80


def test_a_value_larger_than_the_budget_is_kept_alone() -> None:
    cache = sized(100)
    cache.get("a", lambda: 40)
    cache.get("huge", lambda: 500)
    assert cache.keys() == ["huge"]


def test_clear_evicts_everything() -> None:
    evicted: list[str] = []
    cache = sized(100, evicted)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 1)
    cache.clear()
    assert evicted == ["a", "b"] and cache.keys() == []
