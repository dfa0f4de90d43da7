"""Constants for the HavenCore integration."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.helpers import llm

DOMAIN: Final = "havencore"
LOGGER: Final = logging.getLogger(__package__)

DEFAULT_URL: Final = "http://127.0.0.1:8000"
# How long setup and the flows wait for the backend before calling it unreachable.
CONNECT_TIMEOUT: Final = 10.0
# A turn may take a while on a CPU, but a silent backend must not hang Assist forever.
CHAT_TIMEOUT: Final = 120.0
# How long an action's targets may take to reach the state it asked for before the agent says it did not work.
ACTION_CONFIRM_SECONDS: Final = 2.0
# A failed tool call goes back to the model this many times to correct itself before the agent gives up.
MAX_TOOL_CORRECTIONS: Final = 1
# While the backend is unavailable, how often it is probed so entities come back on their own.
RECOVERY_PROBE_SECONDS: Final = 30

INFO_PATH: Final = "/v1/havencore/info"
MODELS_PATH: Final = "/v1/models"
TOKENIZE_PATH: Final = "/v1/havencore/tokenize"
CHAT_PATH: Final = "/v1/chat/completions"
EMBEDDINGS_PATH: Final = "/v1/embeddings"
HISTORY_PATH: Final = "/v1/havencore/history"
MEMORIES_PATH: Final = "/v1/havencore/memories"
DOCUMENTS_PATH: Final = "/v1/havencore/documents"
# Memory lookups sit in front of a reply: a slow backend costs at most this much before the turn goes on without them.
MEMORY_LOOKUP_TIMEOUT: Final = 3.0
# Ingesting embeds every chunk of a document, which takes a while on a CPU.
INGEST_TIMEOUT: Final = 120.0

# Supervisor discovery: the add-on announces these keys.
DISCOVERY_HOST: Final = "host"
DISCOVERY_PORT: Final = "port"
DISCOVERY_API_KEY: Final = "api_key"

SUBENTRY_CONVERSATION: Final = "conversation"
SUBENTRY_STT: Final = "stt"
SUBENTRY_TTS: Final = "tts"
SUBENTRY_AI_TASK: Final = "ai_task_data"

CONF_MODEL: Final = "model"
CONF_PROMPT: Final = "prompt"
CONF_TEMPERATURE: Final = "temperature"
CONF_MAX_TOKENS: Final = "max_tokens"
CONF_MAX_TOOL_ITERATIONS: Final = "max_tool_iterations"
CONF_MAX_HISTORY: Final = "max_history"
CONF_LANGUAGE: Final = "language"
CONF_VOICE: Final = "voice"
CONF_SPEED: Final = "speed"
CONF_PREFER_LOCAL_INTENTS: Final = "prefer_local_intents"
CONF_DIRECT_ACTION_REPLIES: Final = "direct_action_replies"
CONF_RESUME_WINDOW: Final = "resume_window"
CONF_MEMORY_TOKEN_BUDGET: Final = "memory_token_budget"
CONF_PREPARE_PROMPT: Final = "prepare_prompt"

DEFAULT_CONVERSATION_NAME: Final = "HavenCore conversation"
DEFAULT_STT_NAME: Final = "HavenCore speech-to-text"
DEFAULT_TTS_NAME: Final = "HavenCore text-to-speech"
DEFAULT_AI_TASK_NAME: Final = "HavenCore AI Task"

# An empty model means "the backend's default model" (the first one /v1/models lists).
DEFAULT_MODEL: Final = ""
DEFAULT_TEMPERATURE: Final = 0.3
DEFAULT_MAX_TOKENS: Final = 400
DEFAULT_MAX_TOOL_ITERATIONS: Final = 6
# Earlier user turns kept in the prompt; 0 keeps everything.
DEFAULT_MAX_HISTORY: Final = 10
DEFAULT_SPEED: Final = 1.0
# The live states of at most this many entities the request names go into its turn context.
MENTIONED_LIVE_STATES: Final = 6
NAMED_STATES_HEADER: Final = "Live Context of the devices this request names:"
# How many entities retrieval hands the model, besides those the request names outright (fewer when they do not fit
# the home context's share).
RETRIEVED_ENTITIES: Final = 12
# The token budget (see ``prompt_budget``). The window of a backend that does not report one:
DEFAULT_CONTEXT_WINDOW: Final = 4096
# Every exposed entity is listed when that takes at most this many tokens (and fits the window), else retrieval.
HOME_CONTEXT_TOKENS: Final = 1500
# Room always left for this turn's context, the request and its history.
CONVERSATION_MIN_TOKENS: Final = 600
# The most one tool result (a live context, a search) may take in the prompt.
TOOL_RESULT_TOKENS: Final = 600
# For a backend that cannot count tokens: a conservative bytes-per-token ratio (English averages about 4).
ESTIMATED_BYTES_PER_TOKEN: Final = 3
# Entity descriptions embedded per request to the backend.
EMBEDDINGS_BATCH: Final = 256
# Minutes after its last turn within which a user's conversation on the same device is resumed; 0 turns it off.
DEFAULT_RESUME_WINDOW: Final = 30
# Rough tokens (about four characters each) of memories and document passages added to a turn's prompt; 0 adds none.
DEFAULT_MEMORY_TOKEN_BUDGET: Final = 300
# While the backend's model is still loading (a 503), the prompt is sent again after this many seconds, this often:
# vLLM takes minutes to load a model after the host starts.
PREPARE_PROMPT_RETRY_SECONDS: Final = 15.0
PREPARE_PROMPT_ATTEMPTS: Final = 40
# Seconds after the first of a series of changes to the exposed entities before the prompt is prepared again.
PREPARE_AFTER_CHANGES_SECONDS: Final = 10.0

DEFAULT_PROMPT: Final = (
    llm.DEFAULT_INSTRUCTIONS_PROMPT + "Only say that you did something when a tool result confirms it."
)

DEFAULT_CONVERSATION_OPTIONS: Final = {
    CONF_MODEL: DEFAULT_MODEL,
    CONF_PROMPT: DEFAULT_PROMPT,
    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
    CONF_TEMPERATURE: DEFAULT_TEMPERATURE,
    CONF_MAX_TOKENS: DEFAULT_MAX_TOKENS,
    CONF_MAX_TOOL_ITERATIONS: DEFAULT_MAX_TOOL_ITERATIONS,
    CONF_MAX_HISTORY: DEFAULT_MAX_HISTORY,
    CONF_PREFER_LOCAL_INTENTS: True,
    CONF_DIRECT_ACTION_REPLIES: True,
    CONF_RESUME_WINDOW: DEFAULT_RESUME_WINDOW,
    CONF_MEMORY_TOKEN_BUDGET: DEFAULT_MEMORY_TOKEN_BUDGET,
    CONF_PREPARE_PROMPT: True,
}
DEFAULT_AI_TASK_OPTIONS: Final = {CONF_MODEL: DEFAULT_MODEL}
DEFAULT_STT_OPTIONS: Final[dict[str, str]] = {}
DEFAULT_TTS_OPTIONS: Final = {CONF_SPEED: DEFAULT_SPEED}

# Capabilities a backend lists in its info; speech entities exist only where the backend has the server.
CAPABILITY_STT: Final = "stt"
CAPABILITY_TTS: Final = "tts"
# The backend has semantic memory and documents (it has an embeddings model); history it always keeps.
CAPABILITY_MEMORY: Final = "memory"
# The backend's engine keeps a prompt's prefill for the next request that starts the same way (llama.cpp, vLLM).
CAPABILITY_PROMPT_CACHE: Final = "prompt-cache"

# Memory: matches below this cosine similarity are too loosely related to put into a prompt or forget by query.
MEMORY_MIN_SCORE: Final = 0.35
MEMORY_SEARCH_LIMIT: Final = 5
DOCUMENT_SEARCH_LIMIT: Final = 3
CHARS_PER_TOKEN: Final = 4
# Whose memory a turn without a Home Assistant user (a voice satellite, an automation) belongs to: the household's.
ANONYMOUS_USER_ID: Final = "anonymous"
DEFAULT_MEMORY_KIND: Final = "fact"
MEMORY_LLM_API_ID: Final = "havencore_memory"
MEMORY_LLM_API_NAME: Final = "HavenCore memory"
