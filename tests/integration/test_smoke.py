from tests.conftest import Functions


def test_create_then_get(functions: Functions) -> None:
    created = functions.create(name="x")
    assert created.status == 201, created.body
    got = functions.get(created.body["sid"])
    assert got.status == 200, got.body
