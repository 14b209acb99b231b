"""What a failed rebuild says: the cause in words a scheduler's log reader can act on."""

from __future__ import annotations

from app.jobs.rebuild import _failure


def test_a_spark_driver_out_of_heap_names_the_setting_to_raise() -> None:
    error = RuntimeError(
        "An error occurred while calling o412.collectAsArrowToPython.\n"
        "Caused by: java.lang.OutOfMemoryError: Java heap space"
    )
    message = _failure(error)
    assert message.startswith("the Spark driver ran out of heap: raise spark.driver.memory")
    assert "Java heap space" in message


def test_a_full_rule_store_says_nothing_was_evicted() -> None:
    message = _failure(RuntimeError("OOM command not allowed when used memory > 'maxmemory'."))
    assert message.startswith("the rule store is out of memory (maxmemory reached)")


def test_any_other_failure_is_its_type_and_text() -> None:
    assert _failure(ValueError("bad line 3")) == "ValueError: bad line 3"
