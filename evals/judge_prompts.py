"""The LLM judge's prompts and their version.

Every call is kept short for a small local model: one claim, a few evidence sentences and
a one-word answer (a verdict), or one answer to rewrite as a list of claims (a split).
"""

from __future__ import annotations

# Bump when a prompt or the parsing of answers (`evals.claims`) changes: old cache entries
# (`evals.judgment_cache`) stop matching.
PROMPT_VERSION = "2"

VERDICT_PROMPT = (
    "Evidence:\n{evidence}\n\nClaim: {claim}\n\n"
    "Is the claim fully supported by the evidence? Answer yes or no."
)
# The default: naming the details stops the small judge from accepting a related but
# unsupported claim, its usual error (see evals/FAITHFULNESS.md).
VERDICT_PROMPT_STRICT = (
    "Evidence:\n{evidence}\n\nClaim: {claim}\n\n"
    "Does the evidence state everything in the claim, including every name, number and "
    "date? Answer yes or no."
)
PROMPTS = {"basic": VERDICT_PROMPT, "strict": VERDICT_PROMPT_STRICT}

SPLIT_PROMPT = (
    "Rewrite the text as a list of short, self-contained factual claims, one per line, "
    "in the text's language. Replace pronouns by what they refer to. No commentary.\n\n"
    "Text: {answer}\n\nClaims:"
)
