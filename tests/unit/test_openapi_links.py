from apitokens.domain.scopes import TOKEN, TOKENS
from apitokens_dev.openapi import build_openapi


def test_responses_that_carry_a_token_link_to_the_operations_on_it() -> None:
    paths = build_openapi()["paths"]
    created = paths[TOKENS]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in created.values()} == {
        *("getApiToken", "updateApiToken", "deleteApiToken"),
        "rollApiToken",
    }
    for link in created.values():
        assert link["parameters"] == {"accountSid": "$request.path.accountSid", "apiTokenSid": "$response.body#/sid"}
    assert paths[TOKEN]["delete"]["responses"]["200"]["links"] == created
    assert "links" not in paths[TOKENS]["get"]["responses"]["200"]  # a page of many tokens
