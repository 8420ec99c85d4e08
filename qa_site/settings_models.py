"""Settings of the model API: one wire protocol, and a server (URL, key, model) for each of
embeddings, reranking, chat and transcription; imported by ``qa_site.settings``, read from
the environment like the rest (``.env.example``)."""

from __future__ import annotations

from qa_site.env import env_float, env_int, env_str, site_url

# --- Model API: one wire protocol; embeddings, reranking and chat may each have their own server ---
MODEL_API_KEY = env_str("MODEL_API_KEY")
LOCAL_PROVIDER_URL = env_str("LOCAL_PROVIDER_URL", f"{site_url()}/local/v1").rstrip("/")
USING_LOCAL_PROVIDER = not MODEL_API_KEY and not env_str("MODEL_API_BASE_URL")
MODEL_API_BASE_URL = env_str(
    "MODEL_API_BASE_URL",
    LOCAL_PROVIDER_URL if USING_LOCAL_PROVIDER else "https://api.groq.com/openai/v1",
).rstrip("/")
# The local provider serves loopback callers only, unless a key is set for it.
LOCAL_PROVIDER_KEY = env_str("LOCAL_PROVIDER_KEY")
_DEFAULT_KEY = MODEL_API_KEY or (LOCAL_PROVIDER_KEY if USING_LOCAL_PROVIDER else "")
MODEL_API_TIMEOUT = env_float("MODEL_API_TIMEOUT", 60.0)
MODEL_API_CONNECT_TIMEOUT = env_float("MODEL_API_CONNECT_TIMEOUT", 5.0)
MODEL_API_MAX_RETRIES = env_int("MODEL_API_MAX_RETRIES", 3)

EMBEDDINGS_BASE_URL = env_str("EMBEDDINGS_BASE_URL", MODEL_API_BASE_URL).rstrip("/")
EMBEDDINGS_API_KEY = env_str("EMBEDDINGS_API_KEY", _DEFAULT_KEY)
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "all-MiniLM-L6-v2")
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 64)

RERANK_BASE_URL = env_str("RERANK_BASE_URL", MODEL_API_BASE_URL).rstrip("/")
RERANK_API_KEY = env_str("RERANK_API_KEY", _DEFAULT_KEY)
RERANK_MODEL = env_str("RERANK_MODEL", "local-rerank" if USING_LOCAL_PROVIDER else "")

CHAT_BASE_URL = env_str("CHAT_BASE_URL", MODEL_API_BASE_URL).rstrip("/")
CHAT_API_KEY = env_str("CHAT_API_KEY", _DEFAULT_KEY)
CHAT_MODEL = env_str(
    "CHAT_MODEL", "local-extractive" if USING_LOCAL_PROVIDER else "llama-3.3-70b-versatile"
)

# Speech to text: Groq's Whisper with a key, else the local provider's Whisper tiny.en. A
# recording refused as too large (413) goes in overlapping pieces, halved while refused.
TRANSCRIPTION_BASE_URL = env_str("TRANSCRIPTION_BASE_URL", MODEL_API_BASE_URL).rstrip("/")
TRANSCRIPTION_API_KEY = env_str("TRANSCRIPTION_API_KEY", _DEFAULT_KEY)
_WHISPER = "whisper-tiny.en" if USING_LOCAL_PROVIDER else "whisper-large-v3-turbo"
TRANSCRIPTION_MODEL = env_str("TRANSCRIPTION_MODEL", _WHISPER)
TRANSCRIPTION_PIECE_SECONDS = env_int("TRANSCRIPTION_PIECE_SECONDS", 600)
TRANSCRIPTION_OVERLAP_SECONDS = env_int("TRANSCRIPTION_OVERLAP_SECONDS", 5)
# The language spoken, as an ISO-639-1 code ("en"); empty lets the server detect it.
TRANSCRIPTION_LANGUAGE = env_str("TRANSCRIPTION_LANGUAGE", "")
# Segments that failed (Whisper's own limits: average log-probability under -1, or text
# repeating itself, compression ratio over 2.4) or that are silence (no-speech probability
# over 0.6 with a low log-probability, or over 0.9 alone: tiny.en hears " you" in silence)
# are dropped; a recording with nothing else fails with that reason.
TRANSCRIPTION_MIN_AVG_LOGPROB = env_float("TRANSCRIPTION_MIN_AVG_LOGPROB", -1.0)
TRANSCRIPTION_MAX_COMPRESSION_RATIO = env_float("TRANSCRIPTION_MAX_COMPRESSION_RATIO", 2.4)
TRANSCRIPTION_SILENCE_NO_SPEECH_PROB = env_float("TRANSCRIPTION_SILENCE_NO_SPEECH_PROB", 0.6)
TRANSCRIPTION_SURE_SILENCE_NO_SPEECH_PROB = env_float(
    "TRANSCRIPTION_SURE_SILENCE_NO_SPEECH_PROB", 0.9
)
# Recordings (audio, video) are decoded in the extraction child under their own limits:
# length (decoded, not declared), upload size, time and memory.
RECORDING_MAX_SECONDS = env_int("RECORDING_MAX_SECONDS", 4 * 3600)
RECORDING_MAX_UPLOAD_BYTES = env_int("RECORDING_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
# Under INGEST_LEASE_SECONDS (300): nothing beats the heartbeat while the child decodes (a
# 9.8 min MP3 decodes in 0.8 s, so 4 h in about 20 s).
RECORDING_DECODE_TIMEOUT_SECONDS = env_float("RECORDING_DECODE_TIMEOUT_SECONDS", 240.0)
RECORDING_MEMORY_MB = env_int("RECORDING_MEMORY_MB", 2048)
