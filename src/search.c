/*
 * search.c - the tool index and its ranking.
 *
 * The index is a classic inverted index: every document (tool) is cut into fields (tool name,
 * server name, title, the description's first sentence, the whole description, parameter names
 * and parameter descriptions), each field is tokenized (camelCase, `_`, `-`, `.`, UTF-8 runs),
 * lower-cased, stripped of stop words and stemmed, and every term keeps one posting per document
 * holding its BM25F weight: the field-weighted, length-normalized term frequency, already
 * saturated with k1, so a query only multiplies it by the term's idf.
 *
 * A query is turned into "concepts": one per distinct stem, or one per synonym phrase found in
 * it ("pull request", "tear down"). A concept has members (the stem itself, its synonyms from
 * a const table, a prefix or typo correction when the stem is unknown), each a short list of
 * terms; a document scores the best member of each concept, so a tool that uses three synonyms
 * of one word does not beat a tool that answers two different words of the query. The sum is
 * then scaled by coverage (the share of concepts the tool answers) and completed by a bonus for
 * the share of the tool's own name that the query covers, and by a boost for servers the query
 * names ("slack: ...") or whose vocabulary it uses ("gmail" on the Google Workspace server).
 * A query equal to a tool name is answered by that tool first, whatever the ranking says.
 *
 * Speed: everything a query would otherwise recompute is prepared at build time: the synonym
 * table as term ids and hashes with each group's range, the vocabulary bucketed by length (typo
 * candidates) and by first four bytes (completions). Ranking touches only documents the query's
 * terms post to, keeps the best few in a small heap and sorts those alone; it must keep giving
 * the very same lists (bench/search_bench --dump writes them for diffing).
 *
 * DESIGN (threads): the index is immutable after search_index_build(); only two things change
 * under queries, and both live behind one mutex in struct cache: the LRU query cache and a free
 * list of per-query scratch buffers (dense per-document accumulators, reset after use, so a
 * query costs nothing proportional to the catalog size beyond the documents it touches). The
 * lock is held only to look up or insert a cache entry and to take or return a scratch buffer,
 * never while ranking.
 */
#include "search.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

#define SEARCH_MAX_TOKEN 40          /* bytes kept of one token; longer ones are cut */
#define SEARCH_MAX_QUERY_TOKENS 64   /* raw tokens read from one query */
#define SEARCH_MAX_CONCEPTS 64       /* one bit each in a uint64_t coverage mask */
#define SEARCH_MAX_MEMBERS 512       /* members over all concepts of one query */
#define SEARCH_MAX_QTERMS 1024       /* terms over all members of one query */
#define SEARCH_MAX_FIELD_TOKENS 4096 /* tokens indexed per field of one tool */
#define SEARCH_MAX_PARAMS 64         /* parameters indexed per schema level */
#define SEARCH_EXACT_MAX 512         /* longer queries cannot be a tool name */
#define SEARCH_CACHE_SLOTS 256
#define SEARCH_CACHE_MIN_HITS 32         /* a cache entry keeps at least this many hits */
#define SEARCH_TYPO_MAX 3                /* corrections kept per unknown word */
#define SEARCH_PREFIX_MAX 3              /* completions kept per unknown word */
#define SEARCH_SUGGEST_KEY 96            /* bytes of a name compared by search_suggest() */
#define SEARCH_MAX_DOCS ((1u << 24) - 1) /* struct posting.doc */

enum field { F_NAME, F_SERVER, F_TITLE, F_LEAD, F_DESC, F_PARAM, F_PDESC, F_COUNT };

#define FIELD_BIT(f) (1u << (f))

/*
 * Ranking constants. The field weights say how much one occurrence counts in each field: a
 * word of the tool's name says far more about what it does than a word deep in a parameter
 * description. b is BM25's length normalization per field: strong for free text, where a 7 KB
 * description must not win by mentioning everything, weak for names.
 */
struct ranking {
    float weight[F_COUNT];
    float b[F_COUNT];
    float k1;
    float w_synonym;   /* a synonym counts this much of the word itself */
    float w_phrase;    /* members of a phrase's synonym group */
    float w_same;      /* another spelling of the word ("repo" for "repository") */
    float cov_exp;     /* coverage credit of a member of weight w is pow(w, cov_exp) */
    float w_typo;      /* an edit-distance correction of an unknown word */
    float w_prefix;    /* a completion of an unknown word ("config" → "configuration") */
    float w_weak;      /* pure numbers: they rarely say what a tool does */
    float cov_floor;   /* share of the score kept by a document covering no concept */
    float destroy;     /* factor on a destructive tool when the query destroys nothing */
    float w_namecov;   /* bonus for covering the whole tool name */
    float w_server;    /* boost per unit of server signal */
    float credit_min;  /* server signal at which a concept counts as covered by the server */
    float affinity;    /* scale of the signal from a server's own vocabulary */
    float server_damp; /* how much a server-naming word loses of its text score */
    float cov_pow;     /* exponent of coverage in the score factor */
    float name_mult;   /* score factor per unit of name coverage */
};

static const struct ranking ranking_default = {
    /*             name  server title lead  desc  param pdesc */
    .weight = {4.0f, 0.6f, 3.0f, 1.0f, 1.0f, 0.5f, 0.25f},
    .b = {0.3f, 0.0f, 0.3f, 0.5f, 0.75f, 0.5f, 0.75f},
    .k1 = 1.2f,
    .w_synonym = 0.6f,
    .w_phrase = 0.8f,
    .w_same = 1.0f,
    .cov_exp = 0.5f,
    .w_typo = 0.8f,
    .w_prefix = 0.6f,
    .w_weak = 0.3f,
    .cov_floor = 0.25f,
    .destroy = 0.8f,
    .w_namecov = 1.5f,
    .w_server = 1.5f,
    .credit_min = 0.5f,
    .affinity = 0.7f,
    .server_damp = 0.5f,
    .cov_pow = 2.0f,
    .name_mult = 0.6f,
};

/*
 * Words that carry no intent in a request to a tool catalog. Matched on the lower-cased token
 * before stemming. "up", "down", "off" and "out" are kept: they change the verb ("tear down").
 * Sorted in byte order: looked up by binary search.
 */
static const char *const stop_words[] = {
    "a",     "about",  "after", "all",   "also",  "am",    "an",    "and",   "any",    "are",
    "as",    "at",     "be",    "been",  "being", "but",   "by",    "can",   "com",    "could",
    "did",   "do",     "does",  "each",  "for",   "from",  "had",   "has",   "have",   "he",
    "her",   "here",   "him",   "his",   "how",   "http",  "https", "i",     "if",     "in",
    "into",  "is",     "it",    "its",   "just",  "let",   "lets",  "like",  "me",     "mine",
    "my",    "need",   "of",    "on",    "onto",  "or",    "our",   "ours",  "please", "s",
    "she",   "should", "so",    "some",  "t",     "than",  "that",  "the",   "their",  "them",
    "then",  "there",  "these", "they",  "this",  "those", "to",    "tool",  "tools",  "us",
    "using", "via",    "want",  "was",   "we",    "were",  "what",  "whats", "when",   "where",
    "which", "while",  "whom",  "whose", "why",   "will",  "with",  "would", "www",    "you",
    "your",  "yours",
};

/* Irregular forms the suffix stripper cannot reach, mapped to a form it reduces correctly.
 * Sorted by `from` in byte order: looked up by binary search. */
static const struct {
    const char *from;
    const char *to;
} irregular[] = {
    {"began", "begin"},   {"begun", "begin"},    {"bought", "buy"},    {"brought", "bring"},
    {"built", "build"},   {"children", "child"}, {"chose", "choose"},  {"chosen", "choose"},
    {"data", "data"},     {"did", "do"},         {"done", "do"},       {"found", "find"},
    {"gave", "give"},     {"given", "give"},     {"got", "get"},       {"gotten", "get"},
    {"indices", "index"}, {"kept", "keep"},      {"lost", "lose"},     {"made", "make"},
    {"paid", "pay"},      {"people", "person"},  {"ran", "run"},       {"rerun", "rerun"},
    {"retries", "retry"}, {"said", "say"},       {"saw", "see"},       {"seen", "see"},
    {"sent", "send"},     {"shown", "show"},     {"taken", "take"},    {"told", "tell"},
    {"took", "take"},     {"went", "go"},        {"written", "write"}, {"wrote", "write"},
};

/*
 * Synonym groups: general vocabulary of tool catalogs (verbs of CRUD and operations, common
 * objects of developer and office tools). "same" groups hold spellings of one word
 * (abbreviations, compounds the stemmer cannot join: repo/repository, k8s/kubernetes) and
 * count in full; the others are near-synonyms and count less. A word may sit in several groups;
 * entries with a space are phrases, found when all their words occur in the query.
 */
#define SYN_WIDTH 12

struct synonym_group {
    bool same;                   /* spellings of one word rather than near-synonyms */
    const char *word[SYN_WIDTH]; /* ends at NULL */
};

static const struct synonym_group synonym_groups[] = {
    {true, {"repo", "repository", NULL}},
    {true, {"k8s", "kubernetes", "kube", NULL}},
    {true, {"pr", "pull request", "merge request", "mr", NULL}},
    {true, {"db", "database", NULL}},
    {true, {"config", "configuration", "configure", NULL}},
    {true, {"env", "environment", NULL}},
    {true, {"environment variable", "env var", "envvar", NULL}},
    {true, {"var", "variable", NULL}},
    {true, {"app", "application", NULL}},
    {true, {"param", "parameter", "argument", "arg", NULL}},
    {true, {"prod", "production", NULL}},
    {true, {"dev", "development", NULL}},
    {true, {"org", "organization", "organisation", NULL}},
    {true, {"msg", "message", NULL}},
    {true, {"img", "image", NULL}},
    {true, {"dir", "directory", "folder", NULL}},
    {true, {"doc", "document", NULL}},
    {true, {"info", "information", NULL}},
    {true, {"auth", "authentication", "authenticate", NULL}},
    {true, {"email", "e-mail", "mail", NULL}},
    {true, {"js", "javascript", NULL}},
    {true, {"md", "markdown", NULL}},
    {true, {"kv", "key value", "key-value", NULL}},
    {true, {"ns", "namespace", NULL}},
    {true, {"a11y", "accessibility", NULL}},
    {true, {"cert", "certificate", NULL}},
    {true, {"stats", "statistics", NULL}},
    {true, {"todo", "to do", "to-do", NULL}},
    {true, {"login", "log in", "sign in", "signin", "logon", NULL}},
    {true, {"logout", "log out", "sign out", "signout", NULL}},
    {true, {"screenshot", "screen shot", "screen capture", "screengrab", NULL}},
    {true, {"webpage", "web page", "website", "web site", NULL}},
    {true, {"sitemap", "site map", NULL}},
    {true, {"rollout", "roll out", NULL}},
    {true, {"setup", "set up", NULL}},
    {true, {"shutdown", "shut down", NULL}},
    {true, {"lookup", "look up", NULL}},
    {true, {"checkin", "check in", NULL}},
    {true, {"workitem", "work item", NULL}},
    {true, {"rerun", "run again", "re-run", NULL}},
    {true, {"eval", "evaluate", NULL}},
    {true, {"desc", "description", NULL}},
    {true, {"spec", "specification", NULL}},
    {true, {"repl", "interpreter", NULL}},
    {true, {"ci", "continuous integration", NULL}},
    {true, {"id", "identifier", NULL}},
    {true, {"url", "uri", "link", NULL}},
    {false, {"create", "add", "new", "make", "insert", "open", "setup", "cut", NULL}},
    {false, {"append", "add", "add to end", NULL}},
    {false,
     {"delete", "remove", "erase", "destroy", "drop", "trash", "bin", "discard", "purge", "wipe",
      "tear down", NULL}},
    {false, {"delete", "get rid of", "throw away", "retire", "decommission", NULL}},
    {false, {"update", "edit", "modify", "change", "patch", "alter", "adjust", "upsert", NULL}},
    {false, {"list", "enumerate", "get all", "show all", "browse", "all", NULL}},
    {false,
     {"get", "fetch", "retrieve", "read", "show", "view", "display", "inspect", "look at", NULL}},
    {false, {"search", "find", "query", "lookup", "locate", "discover", "grep", "seek", NULL}},
    {false, {"send", "post", "message", "chat", "dm", "write to", NULL}},
    {false, {"message", "dm", "chat", "post", NULL}},
    {false, {"email", "inbox", "mailbox", NULL}},
    {false, {"gmail", "email", NULL}},
    {false, {"outlook", "email", NULL}},
    {false, {"file", "document", "attachment", NULL}},
    {false, {"issue", "ticket", "bug", "workitem", "defect", NULL}},
    {false, {"repository", "codebase", "project", NULL}},
    {false, {"run", "execute", "exec", "invoke", "call", "trigger", "launch", NULL}},
    {false, {"stop", "halt", "kill", "terminate", "cancel", "abort", "shutdown", NULL}},
    {false, {"start", "begin", "launch", "kick off", "boot", "spin up", NULL}},
    {false,
     {"deploy", "ship", "release", "publish", "rollout", "go live", "promote", "apply", NULL}},
    {false, {"approve", "sign off", "accept", "lgtm", NULL}},
    {false, {"undo", "revert", "rollback", "roll back", "reverse", "withdraw", "unapprove", NULL}},
    {false, {"pause", "suspend", "sleep", "hibernate", "freeze", NULL}},
    {false, {"resume", "unpause", "wake", "continue", NULL}},
    {false, {"restart", "reboot", "rerun", "retry", NULL}},
    {false, {"scale", "resize", "replicas", NULL}},
    {false, {"leave", "quit", "exit", "depart", NULL}},
    {false, {"join", "enter", "subscribe", NULL}},
    {false, {"upload", "attach", NULL}},
    {false, {"download", "export", NULL}},
    {false, {"event", "meeting", "appointment", "invite", NULL}},
    {false, {"schedule", "book", "plan", "arrange", NULL}},
    {false,
     {"user", "member", "person", "people", "account", "teammate", "colleague", "employee", "who",
      NULL}},
    {false, {"folder", "directory", NULL}},
    {false, {"image", "picture", "photo", "pic", "graphic", NULL}},
    {false, {"chart", "graph", "plot", "diagram", "visualization", "visualize", NULL}},
    {false, {"spreadsheet", "sheet", "worksheet", "excel", "workbook", NULL}},
    {false, {"configuration", "settings", "setting", "preferences", "options", NULL}},
    {false, {"flag", "toggle", "feature flag", "feature toggle", "switch", NULL}},
    {false, {"log", "logs", "logging", "history", "audit trail", NULL}},
    {false, {"error", "exception", "failure", "fail", "crash", "fault", "broken", NULL}},
    {false, {"monitor", "alert", "watch", "alarm", NULL}},
    {false, {"metric", "metrics", "stats", "measurement", "telemetry", NULL}},
    {false, {"mute", "silence", "snooze", "downtime", "suppress", NULL}},
    {false, {"unmute", "unsilence", "unsnooze", NULL}},
    {false, {"charge", "bill", "invoice", "fee", "payment", "pay", NULL}},
    {false, {"refund", "money back", "reimburse", "chargeback", NULL}},
    {false, {"customer", "client", "buyer", "shopper", NULL}},
    {false, {"note", "memo", "annotation", NULL}},
    {false, {"comment", "reply", "respond", "feedback", "remark", NULL}},
    {false, {"task", "todo", "action item", "chore", NULL}},
    {false, {"organization", "company", NULL}},
    {false, {"team", "group", "squad", NULL}},
    {false,
     {"permission", "access", "share", "sharing", "role", "grant", "acl", "collaborator", NULL}},
    {false, {"revoke", "remove access", "unshare", "deny", NULL}},
    {false, {"webpage", "site", "page", NULL}},
    {false, {"scrape", "extract", "crawl", "harvest", NULL}},
    {false,
     {"location", "address", "place", "position", "coordinates", "geocode", "latitude", "longitude",
      NULL}},
    {false, {"directions", "route", "routing", "navigation", "itinerary", NULL}},
    {false, {"weather", "forecast", "temperature", NULL}},
    {false, {"database", "datastore", NULL}},
    {false, {"row", "record", "entry", NULL}},
    {false, {"column", "field", "attribute", "property", NULL}},
    {false, {"commit", "checkin", NULL}},
    {false, {"clone", "copy", "duplicate", "replicate", NULL}},
    {false, {"move", "rename", "relocate", "transfer", NULL}},
    {false, {"restore", "recover", "undelete", "revert", "rollback", NULL}},
    {false, {"count", "how many", "number of", "total", "tally", NULL}},
    {false,
     {"summary", "summarize", "overview", "describe", "details", "info", "digest", "recap", NULL}},
    {false, {"status", "state", "health", NULL}},
    {false, {"click", "tap", "press", NULL}},
    {false, {"type", "input", "fill", "keyboard", NULL}},
    {false, {"scroll", "swipe", "fling", NULL}},
    {false, {"navigate", "go to", "goto", "visit", "open url", NULL}},
    {false, {"javascript", "script", NULL}},
    {false, {"evaluate", "execute script", "run script", NULL}},
    {false, {"phone", "mobile", "device", "android", "ios", "smartphone", NULL}},
    {false, {"secret", "credential", "password", "token", "api key", NULL}},
    {false, {"container", "pod", NULL}},
    {false, {"version", "revision", NULL}},
    {false, {"workflow", "pipeline", "job", "build", "ci", NULL}},
    {false, {"notification", "notify", "alert", "ping", "remind", "reminder", NULL}},
    {false, {"invite", "invitation", "attendee", "participant", "guest", NULL}},
    {false, {"deal", "opportunity", "sale", NULL}},
    {false, {"channel", "room", "conversation", NULL}},
    {false, {"thread", "replies", "conversation", NULL}},
    {false, {"reply", "respond", "answer", "response", NULL}},
    {false, {"render", "draw", "visualize", NULL}},
    {false,
     {"remember", "memorize", "memory", "store", "save", "persist", "record", "keep track", NULL}},
    {false, {"save", "store", "persist", "write", "put", NULL}},
    {false, {"read", "open", "view", "load", "cat", NULL}},
    {false, {"text", "content", "body", "contents", NULL}},
    {false, {"replace", "substitute", "swap", "overwrite", "edit", NULL}},
    {false, {"research", "investigate", "deep dive", "study", NULL}},
    {false, {"sitemap", "site structure", NULL}},
    {false, {"product", "sku", NULL}},
    {false, {"board", "kanban", NULL}},
    {false, {"sprint", "iteration", "cycle", NULL}},
    {false, {"label", "tag", "category", NULL}},
    {false, {"assign", "assignee", "owner", "allocate", NULL}},
    {false, {"documentation", "docs", "manual", "guide", "reference", NULL}},
    {false, {"changelog", "release notes", "changes", NULL}},
    {false, {"diff", "changes", "changed", "difference", "compare", "delta", NULL}},
    {false, {"trace", "span", "tracing", NULL}},
    {false, {"incident", "outage", "problem", NULL}},
    {false, {"dashboard", "panel", NULL}},
    {false, {"bucket", "storage", "blob", NULL}},
    {false, {"function", "lambda", "serverless", "worker", NULL}},
    {false, {"domain", "dns", "hostname", NULL}},
    {false, {"certificate", "ssl", "tls", NULL}},
    {false, {"backup", "snapshot", NULL}},
    {false, {"element", "component", "widget", "control", NULL}},
    {false, {"think", "reason", "reasoning", "thought", NULL}},
    {false, {"design", "mockup", "layout", "wireframe", NULL}},
    {false, {"lint", "linter", "static analysis", NULL}},
    {false, {"format", "prettify", "beautify", NULL}},
    {false, {"sync", "synchronize", "refresh", "reconcile", NULL}},
    {false, {"money", "payment", "funds", "cash", NULL}},
    {false, {"ask", "question", "prompt", NULL}},
};

/*
 * Verbs that destroy something. A tool whose name says one of them is held back a little when
 * the query asks for no such thing: "link gitlab issues" wants create_issue_link before
 * delete_issue_link, which shares every other word.
 */
static const char *const destroy_verbs[] = {
    "delete", "remove", "drop",   "destroy", "purge",  "erase",     "trash", "wipe",
    "kill",   "revoke", "unlink", "clear",   "cancel", "uninstall", "reset", "terminate",
};

#define NSTOP (sizeof(stop_words) / sizeof(stop_words[0]))
#define NDESTROY (sizeof(destroy_verbs) / sizeof(destroy_verbs[0]))
#define NIRREGULAR (sizeof(irregular) / sizeof(irregular[0]))
#define NGROUPS (sizeof(synonym_groups) / sizeof(synonym_groups[0]))
#define GROUP_WORDS ((NGROUPS + 63) / 64)

/* Receives one lower-cased token and the byte offset of the word it came from. */
typedef void (*token_cb)(void *ctx, const char *tok, size_t len, size_t pos);

/* A chunked bump allocator for strings that live as long as the index. */
struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t cap;
    char data[];
};

struct arena {
    struct arena_block *head;
    size_t bytes; /* total allocated, for search_index_memory() */
};

/* Open-addressing map from a byte string to a 32-bit id. A slot holds only the id and a part of
 * the key's hash: the owner of the map gives any stored id's key back through keyof (a term's
 * text, a document's compacted name), so no key is stored twice and a slot is 8 bytes. */
typedef const char *(*strmap_keyof)(const void *ctx, uint32_t id, size_t *len);

struct strmap_slot {
    uint32_t id1;  /* id + 1; 0 marks an empty slot */
    uint32_t hash; /* the low half of hash_bytes(key) */
};

struct strmap {
    struct strmap_slot *slot;
    size_t cap; /* power of two, or 0 */
    size_t used;
    strmap_keyof keyof;
    const void *ctx;
};

struct term {
    const char *text; /* in the arena, NUL-terminated */
    uint32_t len;
    uint32_t df;   /* documents containing the term */
    uint32_t post; /* first posting */
    uint32_t aff;  /* first server affinity */
    uint32_t naff;
    uint32_t letters; /* bitmask of the letters a-z present, to prefilter typo candidates */
    float idf;
    bool destroy; /* a verb of destroy_verbs */
};

/* 8 bytes: postings are most of the index. */
struct posting {
    uint32_t doc : 24;   /* so at most SEARCH_MAX_DOCS documents */
    uint32_t fields : 8; /* FIELD_BIT()s where the term occurs */
    float w;             /* saturated BM25F term frequency */
};

struct affinity {
    uint32_t server;
    float strength; /* 0..1: how surely the term points at this server */
};

struct docinfo {
    uint32_t server;
    uint32_t name_terms;  /* distinct terms of the tool name */
    bool destroy;         /* the name has a verb of destroy_verbs */
    uint32_t next_full;   /* next document with the same full exact-name key, or UINT32_MAX */
    uint32_t next_tool;   /* same for the tool-only key */
    const char *key_full; /* "server__tool" compacted: lower-case letters and digits only */
    const char *key_tool; /* the tool part compacted */
};

/* A synonym table entry compiled to stems: one word or one phrase. */
struct syn_member {
    uint32_t group;
    uint32_t nstem;
    const char *stem[4];
    uint32_t slen[4]; /* strlen(stem[i]) */
    uint64_t hash[4]; /* hash_bytes(stem[i]) */
    uint32_t term[4]; /* stem[i]'s term id, or UINT32_MAX when the index lacks it */
};

/* A term of the length-bucketed vocabulary that typo correction scans. */
struct lenterm {
    uint32_t letters; /* term.letters */
    uint32_t term;
};

/* Per-query dense accumulators, reused through the cache's free list. */
struct scratch {
    struct scratch *next;
    float *score;   /* sum of concept scores */
    float *cur;     /* best member score of the current concept */
    float *mcur;    /* score of the current member */
    uint64_t *mask; /* concepts matched */
    uint8_t *nh;    /* concepts matched in the name */
    uint8_t *cnh;   /* the current concept matched in the name */
    uint8_t *mnh;   /* the current member matched in the name */
    uint8_t *seen;  /* bit 0: in mtouched, bit 1: in ctouched */
    float *cw;      /* weight of the best member of the current concept that matched */
    float *covsum;  /* coverage: sum over concepts of cw */
    uint32_t *touched, *ctouched, *mtouched;
    size_t nt, nct, nmt;
    float *srvsig;     /* per server: signal from the query */
    uint64_t *srvmask; /* per server: concepts credited to the server */
    uint32_t *stouched;
    size_t nst;
};

struct cache_entry {
    uint64_t hash;
    char *key;
    struct search_hit *hits;
    size_t n;      /* hits stored */
    size_t asked;  /* hits asked for when computed; n < asked means the ranking is complete */
    uint64_t used; /* LRU clock */
};

struct cache {
    pthread_mutex_t lock;
    struct cache_entry slot[SEARCH_CACHE_SLOTS];
    uint64_t clock;
    size_t bytes; /* memory held by entries */
    struct scratch *free;
    size_t nscratch;
};

struct search_index {
    const char **names; /* per document, borrowed (see search.h) */
    size_t n;
    const struct ranking *rk; /* ranking_default */
    struct arena arena;
    struct term *terms;
    size_t nterms;
    struct strmap vocab;
    struct posting *post;
    size_t npost;
    struct affinity *aff;
    size_t naff;
    struct docinfo *info;
    const char **servers; /* server names, borrowed */
    uint32_t *server_ndocs;
    size_t nservers;
    struct strmap server_map;
    struct strmap exact_full; /* compacted key → first document */
    struct strmap exact_tool;
    struct syn_member *syn;
    size_t nsyn;
    struct strmap syn_map; /* one-word member stem → first member index, chained below */
    uint32_t *syn_next;
    uint32_t group_first[NGROUPS + 1]; /* members of group g: [group_first[g], group_first[g+1]) */
    uint32_t *phrases;                 /* members of two or more stems, in table order */
    size_t nphrases;
    uint32_t *pfx_first;    /* terms of 5+ bytes by their first 4: bucket b is [pfx_first[b], */
    uint32_t *pfx_terms;    /* pfx_first[b + 1]) of pfx_terms, b = pfx_bucket(idx, text) */
    uint32_t pfx_bits;      /* log2 of the bucket count */
    struct lenterm *by_len; /* terms ordered by length, for typo correction */
    uint32_t len_first[SEARCH_MAX_TOKEN + 2]; /* length l: [len_first[l], len_first[l + 1]) */
    size_t base_bytes;
    struct cache *cache;
};

/* ------------------------------------------------------------------------ small helpers */

/* ASCII character classes of a byte: C_LOWER a-z, C_UPPER A-Z, C_DIGIT 0-9 (tokenizing every
 * byte of every description is most of the work of building the index). */
#define C_LOWER 1
#define C_UPPER 2
#define C_DIGIT 4

static const uint8_t char_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0,
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static bool is_lower(int c)
{
    return char_class[(unsigned char)c] == C_LOWER;
}

static bool is_upper(int c)
{
    return char_class[(unsigned char)c] == C_UPPER;
}

static bool is_digit(int c)
{
    return char_class[(unsigned char)c] == C_DIGIT;
}

static bool is_alnum(int c)
{
    return char_class[(unsigned char)c] != 0;
}

static int to_lower(int c)
{
    return is_upper(c) ? c + ('a' - 'A') : c;
}

/* A multiply-mix hash over 8-byte words: tokens are short, and hashing them is most of the
 * work of building the index. A tail of 4 to 7 bytes is read as two overlapping 4-byte words,
 * a shorter one byte by byte; the length is mixed in first, so that is unambiguous. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull), w;

    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 32;
    }
    if (n > 0) {
        if (n >= 4) {
            uint32_t a, b;

            memcpy(&a, s, 4);
            memcpy(&b, s + n - 4, 4);
            w = a | (uint64_t)b << 32;
        } else {
            w = (unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
                (uint64_t)(unsigned char)s[n - 1] << 16;
        }
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 32;
    }
    return h ^ (h >> 29);
}

/* memcmp(a, b, n) == 0 for the short keys of the maps, without a call. */
static bool same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t x, y;

    if (n >= 8) {
        for (size_t i = 0; i + 8 <= n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t p, q, r, t;

        memcpy(&p, a, 4);
        memcpy(&q, b, 4);
        memcpy(&r, a + n - 4, 4);
        memcpy(&t, b + n - 4, 4);
        return p == q && r == t;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static char *arena_alloc(struct arena *a, size_t n)
{
    struct arena_block *b = a->head;

    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;

        b = xmalloc(sizeof(*b) + cap);
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
        a->bytes += sizeof(*b) + cap;
    }
    b->used += n;
    return b->data + b->used - n;
}

static const char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void arena_free(struct arena *a)
{
    while (a->head != NULL) {
        struct arena_block *next = a->head->next;

        free(a->head);
        a->head = next;
    }
}

static void strmap_init(struct strmap *m, strmap_keyof keyof, const void *ctx)
{
    memset(m, 0, sizeof(*m));
    m->keyof = keyof;
    m->ctx = ctx;
}

/* Grows m to at least min_cap slots (a power of two), or doubles it when min_cap is 0. */
static void strmap_grow(struct strmap *m, size_t min_cap)
{
    size_t cap = m->cap ? m->cap * 2 : 64;

    while (cap < min_cap)
        cap *= 2;
    struct strmap_slot *slot = xcalloc(cap, sizeof(*slot));

    for (size_t i = 0; i < m->cap; i++) {
        struct strmap_slot *s = &m->slot[i];

        if (s->id1 == 0)
            continue;
        size_t j = s->hash & (cap - 1);
        while (slot[j].id1 != 0)
            j = (j + 1) & (cap - 1);
        slot[j] = *s;
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
}

/* The slot of key, or the empty slot where it would go (m->cap > 0). */
static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, size_t len,
                                       uint32_t h)
{
    size_t j = h & (m->cap - 1);

    while (m->slot[j].id1 != 0) {
        struct strmap_slot *s = &m->slot[j];

        if (s->hash == h) {
            size_t klen;
            const char *k = m->keyof(m->ctx, s->id1 - 1, &klen);

            if (klen == len && same_bytes(k, key, len))
                return s;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return &m->slot[j];
}

/* Returns the id stored for key, or UINT32_MAX. */
static uint32_t strmap_get(const struct strmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return UINT32_MAX;
    return strmap_find(m, key, len, (uint32_t)hash_bytes(key, len))->id1 - 1;
}

/* Stores id for key unless key is present; returns the id now stored. From now on keyof(id)
 * must give key back. */
static uint32_t strmap_put(struct strmap *m, const char *key, size_t len, uint32_t id)
{
    uint32_t h = (uint32_t)hash_bytes(key, len);
    struct strmap_slot *s;

    if ((m->used + 1) * 2 > m->cap)
        strmap_grow(m, 0);
    s = strmap_find(m, key, len, h);
    if (s->id1 != 0)
        return s->id1 - 1;
    s->id1 = id + 1;
    s->hash = h;
    m->used++;
    return id;
}

/* ------------------------------------------------------------------------ tokenizer */

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        c = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        c = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Non-ASCII code points that separate words: Latin-1 and general punctuation, CJK and fullwidth
 * punctuation, and other symbols. */
static bool cp_is_separator(uint32_t c)
{
    return (c >= 0x80 && c <= 0xbf) || c == 0xd7 || c == 0xf7 || (c >= 0x2000 && c <= 0x2bff) ||
           (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) ||
           (c >= 0xff00 && c <= 0xff0f) || (c >= 0xff1a && c <= 0xff20) ||
           (c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xff65) || c == 0xfeff ||
           (c >= 0x1f000 && c <= 0x1faff);
}

struct tokenizer {
    token_cb cb;
    void *ctx;
    size_t count;
    size_t max;
    size_t pos; /* offset of the current word */
};

/* Hands one token to the callback, lower-cased; lower says it has no upper-case letter. */
static void emit(struct tokenizer *t, const char *s, size_t n, bool lower)
{
    char buf[SEARCH_MAX_TOKEN];

    if (t->count >= t->max)
        return;
    if (n > SEARCH_MAX_TOKEN)
        n = SEARCH_MAX_TOKEN;
    /* A lone letter is an initial or a variable name, never an intent. */
    if (n == 1 && !is_digit((unsigned char)s[0]))
        return;
    const char *tok = s;
    for (size_t i = 0; !lower && i < n; i++) {
        if (is_upper((unsigned char)s[i])) {
            for (size_t j = 0; j < n; j++)
                buf[j] = (char)to_lower((unsigned char)s[j]);
            tok = buf;
            break;
        }
    }
    t->count++;
    t->cb(t->ctx, tok, n, t->pos);
}

/* Emits one camelCase part; a part mixing letters and digits ("oauth2") also gives its
 * letter runs of two or more letters ("oauth"), so either spelling finds it. */
static void emit_part(struct tokenizer *t, const char *s, size_t n)
{
    bool letters = false, digits = false;

    emit(t, s, n, false);
    for (size_t i = 0; i < n; i++) {
        if (is_digit((unsigned char)s[i]))
            digits = true;
        else
            letters = true;
    }
    if (!(letters && digits))
        return;
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j < n && !is_digit((unsigned char)s[j]))
            j++;
        if (j - i >= 2 && j - i < n)
            emit(t, s + i, j - i, false);
        while (j < n && is_digit((unsigned char)s[j]))
            j++;
        i = j;
    }
}

/* Splits an ASCII alphanumeric run on camelCase boundaries: "getHTTPResponse" gives get, http,
 * response; "v1Beta" gives v1, beta. */
static void emit_ascii_run(struct tokenizer *t, const char *s, size_t n)
{
    size_t start = 0;

    for (size_t i = 1; i < n; i++) {
        int a = (unsigned char)s[i - 1], b = (unsigned char)s[i];
        bool cut = ((is_lower(a) || is_digit(a)) && is_upper(b)) ||
                   (is_upper(a) && is_upper(b) && i + 1 < n && is_lower((unsigned char)s[i + 1]));

        if (cut) {
            emit_part(t, s + start, i - start);
            start = i;
        }
    }
    emit_part(t, s + start, n - start);
}

/* A run of non-ASCII word characters is one token (Chinese has no spaces); runs of three or
 * more characters also give their character bigrams so a query can match inside them. */
static void emit_utf8_run(struct tokenizer *t, const char *s, size_t n, size_t ncp)
{
    emit(t, s, n, true); /* no ASCII byte in a UTF-8 run */
    if (ncp < 3)
        return;
    for (size_t i = 0; i < n && t->count < t->max;) {
        uint32_t cp;
        size_t l1 = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        size_t l2 =
            i + l1 < n ? utf8_decode((const unsigned char *)s + i + l1, n - i - l1, &cp) : 0;

        if (l1 == 0 || l2 == 0)
            break;
        emit(t, s + i, l1 + l2, true);
        i += l1;
    }
}

/*
 * How many of the (at most 8) bytes at s are lower-case ASCII letters before the first that is
 * not: eight bytes at a time, since runs of lower-case letters are most of the text indexed.
 * A byte b < 0x80 is a-z when b + 0x1f has the high bit set and b + 0x05 has not; a byte of
 * 0x80 or more carries into the next one, but only bytes after the first failing one see it.
 */
static size_t lower_prefix(const char *s, size_t n)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n >= 8) {
        const uint64_t high = 0x8080808080808080ull;
        uint64_t w;

        memcpy(&w, s, 8);
        uint64_t lower = (w + 0x1f1f1f1f1f1f1f1full) & ~(w + 0x0505050505050505ull) & ~w & high;
        if (lower == high)
            return 8;
        return (size_t)__builtin_ctzll(~lower & high) / 8;
    }
#endif
    size_t k = 0;

    while (k < n && k < 7 && is_lower((unsigned char)s[k]))
        k++;
    return k;
}

/* Cuts text into lower-cased tokens and hands each to cb, at most max of them. */
static void tokenize(const char *s, size_t len, size_t max, token_cb cb, void *ctx)
{
    struct tokenizer t = {.cb = cb, .ctx = ctx, .count = 0, .max = max};
    size_t i = 0;

    while (i < len && t.count < t.max) {
        unsigned char c = (unsigned char)s[i];

        if (is_alnum(c)) {
            size_t j = i;
            unsigned seen = 0; /* the classes met; C_LOWER alone: nothing to split */

            for (;;) {
                size_t k = lower_prefix(s + j, len - j);

                if (k > 0)
                    seen |= C_LOWER;
                j += k;
                if (k == 8)
                    continue;
                if (j >= len || char_class[(unsigned char)s[j]] == 0)
                    break;
                seen |= char_class[(unsigned char)s[j]];
                j++;
            }
            t.pos = i;
            if (seen == C_LOWER)
                emit(&t, s + i, j - i, true);
            else
                emit_ascii_run(&t, s + i, j - i);
            i = j;
        } else if (c < 0x80) {
            i++;
        } else {
            size_t j = i, ncp = 0;

            for (;;) {
                uint32_t cp;
                size_t l = j < len && (unsigned char)s[j] >= 0x80
                               ? utf8_decode((const unsigned char *)s + j, len - j, &cp)
                               : 0;

                if (l == 0 || cp_is_separator(cp))
                    break;
                j += l;
                ncp++;
            }
            if (j == i) {
                i++; /* invalid byte or a separator code point */
                uint32_t cp;
                size_t l = utf8_decode((const unsigned char *)s + i - 1, len - i + 1, &cp);
                if (l > 1)
                    i += l - 1;
                continue;
            }
            /* Cut long runs at a code point boundary so a token never ends mid-character. */
            size_t keep = j - i;
            if (keep > SEARCH_MAX_TOKEN) {
                keep = SEARCH_MAX_TOKEN;
                while (keep > 0 && ((unsigned char)s[i + keep] & 0xc0) == 0x80)
                    keep--;
            }
            t.pos = i;
            emit_utf8_run(&t, s + i, keep, ncp);
            i = j;
        }
    }
}

/* ------------------------------------------------------------------------ stemming */

/* Compares the n bytes at w with the NUL-terminated s, like strcmp. */
static int cmp_word(const char *w, size_t n, const char *s)
{
    if (n > 0 && (unsigned char)w[0] != (unsigned char)s[0])
        return (unsigned char)w[0] < (unsigned char)s[0] ? -1 : 1;
    size_t k = strlen(s);
    int c = memcmp(w, s, n < k ? n : k);

    return c != 0 ? c : (n > k) - (n < k);
}

static bool is_stop_word(const char *w, size_t n)
{
    size_t lo = 0, hi = NSTOP;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_word(w, n, stop_words[mid]);

        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

static const char *irregular_form(const char *w, size_t n)
{
    size_t lo = 0, hi = NIRREGULAR;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_word(w, n, irregular[mid].from);

        if (c == 0)
            return irregular[mid].to;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static bool has_vowel(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (w[i]) {
        case 'a':
        case 'e':
        case 'i':
        case 'o':
        case 'u':
        case 'y':
            return true;
        default:
            break;
        }
    }
    return false;
}

static bool ends_with(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}

/*
 * A light suffix stripper for English words of lower-case ASCII letters: plurals, -ing, -ed,
 * -tion and a final e, so that send/sends/sending, create/created/creating/creation and
 * page/pages meet on one stem. It over-strips some words; since queries and documents go
 * through the same function, that only matters where two different words collide. Writes the
 * stem into w (at most n bytes) and returns its length.
 */
static size_t stem(char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_lower((unsigned char)w[i]))
            return n;
    const char *irr = irregular_form(w, n);
    if (irr != NULL && strlen(irr) <= n) {
        n = strlen(irr);
        memcpy(w, irr, n);
    }
    if (n <= 3)
        return n;
    if (ends_with(w, n, "ies") && n > 4) {
        n -= 2;
        w[n - 1] = 'y';
    } else if (ends_with(w, n, "sses")) {
        n -= 2;
    } else if (w[n - 1] == 's' && !ends_with(w, n, "ss") && !ends_with(w, n, "us") &&
               !ends_with(w, n, "is")) {
        n -= 1;
    }
    bool stripped = false;
    if (ends_with(w, n, "ied") && n > 4) {
        n -= 2;
        w[n - 1] = 'y';
    } else if (ends_with(w, n, "ing") && n >= 6 && has_vowel(w, n - 3)) {
        n -= 3;
        stripped = true;
    } else if (ends_with(w, n, "ed") && n >= 5 && has_vowel(w, n - 2)) {
        n -= 2;
        stripped = true;
    }
    if (stripped && n >= 3 && w[n - 1] == w[n - 2] && strchr("bgmnprt", w[n - 1]) != NULL)
        n--;
    if (ends_with(w, n, "tion") && n >= 8)
        n -= 3;
    if (n >= 4 && w[n - 1] == 'e' && w[n - 2] != 'e')
        n--;
    return n;
}

/* Reduces a lower-cased token to its index form in out (SEARCH_MAX_TOKEN bytes); returns the
 * length. */
static size_t normalize_token(const char *tok, size_t n, char *out)
{
    memcpy(out, tok, n);
    return stem(out, n);
}

/* ------------------------------------------------------------------------ building */

/* One term of one document while the index is built: how often it occurs in each field. The
 * document is implied by where the entry sits (struct search_builder.doc_first). */
struct raw {
    uint32_t term;
    uint8_t tf[F_COUNT];
};

/* Raw entries are kept in fixed blocks, so that the ~50 per tool never get copied to a bigger
 * array (a realloc of the whole would briefly need both). */
#define RAW_BLOCK 4096

/* Marks a stop word's term id in the token map: it is indexed in tool names only. */
#define RAW_STOP 0x80000000u

/* A distinct token seen while building, and what it stands for. */
struct tok {
    const char *text; /* in struct search_builder.token_text */
    uint32_t len;
    uint32_t term; /* its term id, | RAW_STOP for a stop word */
};

/* A parameter name or description tokenized once: its terms are memo_ids[first, first+count).
 * Known by the 64-bit hash of its text alone, so the builder keeps no copy of the text (the
 * chance that two of a catalog's texts share a hash is about 1e-12). */
struct memo {
    uint64_t hash;
    uint32_t first, count;
};

struct search_builder {
    struct search_index *idx;
    size_t expected; /* documents announced to search_builder_new() */
    size_t cap_terms, cap_servers;
    struct strmap tokens; /* lower-cased token → struct tok */
    struct tok *tok;
    size_t ntok, cap_tok;
    struct arena token_text;
    uint32_t *last; /* per term: its raw entry in the current document, if any */
    size_t cap_last;
    struct raw **raw; /* blocks of RAW_BLOCK */
    size_t nraw, nblocks;
    uint32_t *doc_first; /* per document: its first raw entry; one more at the end */
    uint16_t *flen;      /* per document and field: tokens */
    size_t lead_end;     /* bytes of the description that are its first sentence */
    struct strmap memo;  /* text hash → struct memo */
    struct memo *memos;
    size_t nmemos, cap_memos;
    uint32_t *memo_ids; /* term ids of the parameter texts seen so far */
    size_t nmemo_ids, cap_memo_ids;
    bool recording;
    int field;
    uint32_t doc;
};

static struct raw *raw_at(const struct search_builder *b, size_t r)
{
    return &b->raw[r / RAW_BLOCK][r % RAW_BLOCK];
}

static const char *term_key(const void *ctx, uint32_t id, size_t *len)
{
    const struct search_index *idx = ctx;

    *len = idx->terms[id].len;
    return idx->terms[id].text;
}

static const char *tok_key(const void *ctx, uint32_t id, size_t *len)
{
    const struct search_builder *b = ctx;

    *len = b->tok[id].len;
    return b->tok[id].text;
}

static const char *memo_key(const void *ctx, uint32_t id, size_t *len)
{
    const struct search_builder *b = ctx;

    *len = sizeof(b->memos[id].hash);
    return (const char *)&b->memos[id].hash;
}

static const char *server_key(const void *ctx, uint32_t id, size_t *len)
{
    const struct search_index *idx = ctx;

    *len = strlen(idx->servers[id]);
    return idx->servers[id];
}

static const char *full_key(const void *ctx, uint32_t id, size_t *len)
{
    const struct search_index *idx = ctx;

    *len = strlen(idx->info[id].key_full);
    return idx->info[id].key_full;
}

static const char *tool_key(const void *ctx, uint32_t id, size_t *len)
{
    const struct search_index *idx = ctx;

    *len = strlen(idx->info[id].key_tool);
    return idx->info[id].key_tool;
}

static const char *syn_key(const void *ctx, uint32_t id, size_t *len)
{
    const struct search_index *idx = ctx;

    *len = idx->syn[id].slen[0];
    return idx->syn[id].stem[0];
}

static uint32_t letter_mask(const char *s, size_t n)
{
    uint32_t m = 0;

    for (size_t i = 0; i < n; i++)
        if (is_lower((unsigned char)s[i]))
            m |= 1u << (s[i] - 'a');
    return m;
}

static uint32_t intern(struct search_index *idx, size_t *cap, const char *s, size_t n)
{
    uint32_t id = strmap_get(&idx->vocab, s, n);

    if (id != UINT32_MAX)
        return id;
    if (idx->nterms == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        idx->terms = xrealloc(idx->terms, *cap * sizeof(*idx->terms));
    }
    id = (uint32_t)idx->nterms++;
    struct term *t = &idx->terms[id];
    memset(t, 0, sizeof(*t));
    t->text = arena_strndup(&idx->arena, s, n);
    t->len = (uint32_t)n;
    t->letters = letter_mask(s, n);
    strmap_put(&idx->vocab, t->text, n, id);
    return id;
}

/* Counts one occurrence of term id in field of the current document. */
static void count_term(struct search_builder *b, uint32_t id, int field)
{
    if (id >= b->cap_last) {
        size_t cap = b->cap_last ? b->cap_last * 2 : 4096;

        while (cap <= id)
            cap *= 2;
        b->last = xrealloc(b->last, cap * sizeof(*b->last));
        for (size_t i = b->cap_last; i < cap; i++)
            b->last[i] = UINT32_MAX;
        b->cap_last = cap;
    }
    if (b->last[id] == UINT32_MAX || b->last[id] < b->doc_first[b->doc]) {
        if (b->nraw == b->nblocks * RAW_BLOCK) {
            b->raw = xrealloc(b->raw, (b->nblocks + 1) * sizeof(*b->raw));
            b->raw[b->nblocks++] = xmalloc(RAW_BLOCK * sizeof(**b->raw));
        }
        struct raw *r = raw_at(b, b->nraw);

        memset(r, 0, sizeof(*r));
        r->term = id;
        b->last[id] = (uint32_t)b->nraw++;
    }
    uint8_t *tf = &raw_at(b, b->last[id])->tf[field];
    if (*tf < UINT8_MAX)
        (*tf)++;
    uint16_t *len = &b->flen[(size_t)b->doc * F_COUNT + (size_t)field];
    if (*len < UINT16_MAX)
        (*len)++;
}

static void on_doc_token(void *ctx, const char *tok, size_t n, size_t pos)
{
    struct search_builder *b = ctx;
    uint32_t e = strmap_get(&b->tokens, tok, n), id;

    if (e == UINT32_MAX) {
        char buf[SEARCH_MAX_TOKEN];
        size_t k = normalize_token(tok, n, buf);

        id = intern(b->idx, &b->cap_terms, buf, k);
        if (is_stop_word(tok, n))
            id |= RAW_STOP;
        if (b->ntok == b->cap_tok) {
            b->cap_tok = b->cap_tok ? b->cap_tok * 2 : 1024;
            b->tok = xrealloc(b->tok, b->cap_tok * sizeof(*b->tok));
        }
        b->tok[b->ntok] = (struct tok){arena_strndup(&b->token_text, tok, n), (uint32_t)n, id};
        strmap_put(&b->tokens, tok, n, (uint32_t)b->ntok++);
    } else {
        id = b->tok[e].term;
    }
    /* Stop words say nothing in prose, but a name such as mark_all_todos_done is chosen. */
    if ((id & RAW_STOP) && b->field != F_NAME)
        return;
    id &= ~RAW_STOP;
    if (b->recording) {
        if (b->nmemo_ids == b->cap_memo_ids) {
            b->cap_memo_ids = b->cap_memo_ids ? b->cap_memo_ids * 2 : 4096;
            b->memo_ids = xrealloc(b->memo_ids, b->cap_memo_ids * sizeof(*b->memo_ids));
        }
        b->memo_ids[b->nmemo_ids++] = id;
    }
    count_term(b, id, b->field);
    /* The description's first sentence is read once and counted in both fields. */
    if (b->field == F_DESC && pos < b->lead_end)
        count_term(b, id, F_LEAD);
}

static void add_text(struct search_builder *b, int field, const char *s, size_t n)
{
    if (s == NULL)
        return;
    b->field = field;
    tokenize(s, n, SEARCH_MAX_FIELD_TOKENS, on_doc_token, b);
}

static void add_str(struct search_builder *b, int field, const char *s)
{
    if (s != NULL)
        add_text(b, field, s, strlen(s));
}

/* The description's first sentence: it usually says what the tool does, the rest how. */
static size_t lead_length(const char *s)
{
    size_t i = 0;

    for (; s[i] != '\0' && i < 240; i++) {
        if (s[i] == '\n' && i > 0)
            break;
        if (s[i] == '.' && (s[i + 1] == ' ' || s[i + 1] == '\n' || s[i + 1] == '\0'))
            break;
        if ((unsigned char)s[i] == 0xe3 && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x82)
            break; /* the ideographic full stop */
    }
    return i;
}

/* Parameter names and descriptions and server names repeat across tools (the same
 * "documentId" on a hundred tools): each distinct text is tokenized once and its terms replayed
 * afterwards. The terms of a text are the same in every field but the name (where stop words
 * count), so one memo serves all the fields it is used for. */
static void add_memo(struct search_builder *b, int field, const char *s)
{
    size_t n = strlen(s);
    uint64_t h = hash_bytes(s, n);
    uint32_t e = strmap_get(&b->memo, (const char *)&h, sizeof(h));

    if (e != UINT32_MAX) {
        const struct memo *m = &b->memos[e];

        for (uint32_t i = 0; i < m->count; i++)
            count_term(b, b->memo_ids[m->first + i], field);
        return;
    }
    if (b->nmemos == b->cap_memos) {
        b->cap_memos = b->cap_memos ? b->cap_memos * 2 : 1024;
        b->memos = xrealloc(b->memos, b->cap_memos * sizeof(*b->memos));
    }
    size_t first = b->nmemo_ids;
    b->recording = true;
    add_text(b, field, s, n);
    b->recording = false;
    b->memos[b->nmemos] = (struct memo){h, (uint32_t)first, (uint32_t)(b->nmemo_ids - first)};
    strmap_put(&b->memo, (const char *)&h, sizeof(h), (uint32_t)b->nmemos++);
}

/* The first members of object o named description, properties and items, as
 * cJSON_GetObjectItemCaseSensitive() finds them (it stops at a member without a name), in one
 * walk over o instead of three. */
static void schema_members(const cJSON *o, const cJSON **desc, const cJSON **props,
                           const cJSON **items)
{
    *desc = *props = *items = NULL;
    for (const cJSON *c = o->child; c != NULL && c->string != NULL; c = c->next) {
        const cJSON **found = NULL;

        switch (c->string[0]) {
        case 'd':
            found = strcmp(c->string, "description") == 0 ? desc : NULL;
            break;
        case 'p':
            found = strcmp(c->string, "properties") == 0 ? props : NULL;
            break;
        case 'i':
            found = strcmp(c->string, "items") == 0 ? items : NULL;
            break;
        default:
            break;
        }
        if (found != NULL && *found == NULL)
            *found = c;
    }
}

/* Parameter names and descriptions of a schema's properties, and one level of nested objects
 * (also inside arrays). */
static void add_schema(struct search_builder *b, const cJSON *props, int depth)
{
    const cJSON *p;
    int count = 0;

    if (!cJSON_IsObject(props))
        return;
    cJSON_ArrayForEach (p, props) {
        const cJSON *d, *nested, *items;

        if (count++ >= SEARCH_MAX_PARAMS)
            break;
        if (p->string != NULL)
            add_memo(b, F_PARAM, p->string);
        if (!cJSON_IsObject(p))
            continue;
        schema_members(p, &d, &nested, &items);
        if (d != NULL && cJSON_IsString(d))
            add_memo(b, F_PDESC, d->valuestring);
        if (depth > 0)
            continue;
        add_schema(b, nested, depth + 1);
        if (cJSON_IsObject(items))
            add_schema(b, cJSON_GetObjectItemCaseSensitive(items, "properties"), depth + 1);
    }
}

/* Closes the current document: counts the distinct terms of its name. */
static void flush_doc(struct search_builder *b)
{
    for (size_t i = b->doc_first[b->doc]; i < b->nraw; i++) {
        if (raw_at(b, i)->tf[F_NAME] == 0)
            continue;
        b->idx->info[b->doc].name_terms++;
    }
    b->doc_first[b->doc + 1] = (uint32_t)b->nraw;
}

/* Lower-case letters, digits and non-ASCII bytes of s, everything else dropped, so that case,
 * `-`, `_`, `.` and spaces never matter in an exact-name match. Writes at most cap-1 bytes. */
static size_t compact(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];

        if (is_alnum(c) || c >= 0x80)
            out[k++] = (char)to_lower(c);
    }
    out[k] = '\0';
    return k;
}

static const char *tool_part(const struct search_doc *d)
{
    const char *sep;

    if (d->tool != NULL)
        return d->tool;
    sep = d->name != NULL ? strstr(d->name, "__") : NULL;
    return sep != NULL ? sep + 2 : (d->name != NULL ? d->name : "");
}

/* s compacted straight into the arena (compact() never writes more than it reads). */
static const char *compact_key(struct arena *a, const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, n + 1);

    *len = compact(s, n, out, n + 1);
    return out;
}

/* Appends doc to the chain of documents sharing its key in m. Chains keep documents in index
 * order, so the later sort by name is the only order. */
static void chain_add(struct search_index *idx, struct strmap *m, const char *key, size_t len,
                      uint32_t doc, bool by_tool)
{
    uint32_t head = strmap_put(m, key, len, doc), *next;

    if (head == doc)
        return;
    for (;;) {
        next = by_tool ? &idx->info[head].next_tool : &idx->info[head].next_full;
        if (*next == UINT32_MAX)
            break;
        head = *next;
    }
    *next = doc;
}

static void index_exact(struct search_index *idx, uint32_t doc, const struct search_doc *d)
{
    struct docinfo *di = &idx->info[doc];
    size_t full_len, tool_len;

    di->key_full = compact_key(&idx->arena, d->name != NULL ? d->name : "", &full_len);
    di->key_tool = compact_key(&idx->arena, tool_part(d), &tool_len);
    di->next_full = di->next_tool = UINT32_MAX;
    chain_add(idx, &idx->exact_full, di->key_full, full_len, doc, false);
    chain_add(idx, &idx->exact_tool, di->key_tool, tool_len, doc, true);
}

static uint32_t server_id(struct search_index *idx, size_t *cap, const struct search_doc *d)
{
    const char *s = d->server;
    size_t n;

    if (s == NULL) {
        const char *sep = d->name != NULL ? strstr(d->name, "__") : NULL;

        s = d->name != NULL ? d->name : "";
        n = sep != NULL ? (size_t)(sep - s) : 0;
    } else {
        n = strlen(s);
    }
    uint32_t id = strmap_get(&idx->server_map, s, n);
    if (id != UINT32_MAX)
        return id;
    if (idx->nservers == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        idx->servers = xrealloc(idx->servers, *cap * sizeof(*idx->servers));
        idx->server_ndocs = xrealloc(idx->server_ndocs, *cap * sizeof(*idx->server_ndocs));
    }
    id = (uint32_t)idx->nservers++;
    idx->servers[id] = arena_strndup(&idx->arena, s, n);
    idx->server_ndocs[id] = 0;
    strmap_put(&idx->server_map, idx->servers[id], n, id);
    return id;
}

/*
 * Server affinities of every term. A term in a server's name points at that server as surely as
 * the rest of the catalog lets it: "gitlab" is used almost only by the gitlab servers, "new" (of
 * brave-search-new) by everyone. A term that is not in any server's name but is concentrated in
 * one server's tools ("gmail" in the Google Workspace server) points there more weakly.
 */
static void build_affinities(struct search_index *idx, uint32_t **name_servers, uint32_t *nname)
{
    uint32_t *sdf = xcalloc(idx->nservers, sizeof(*sdf));
    uint32_t *touched = xmalloc(idx->nservers * sizeof(*touched));
    size_t cap = 0;

    for (size_t t = 0; t < idx->nterms; t++) {
        struct term *tm = &idx->terms[t];
        size_t nt = 0;
        uint32_t dfns = 0, in = 0;

        tm->aff = (uint32_t)idx->naff;
        tm->naff = 0;
        for (uint32_t p = tm->post; p < tm->post + tm->df; p++) {
            const struct posting *po = &idx->post[p];
            uint32_t s = idx->info[po->doc].server;

            if ((po->fields & ~FIELD_BIT(F_SERVER)) == 0)
                continue;
            dfns++;
            if (sdf[s]++ == 0)
                touched[nt++] = s;
        }
        for (uint32_t k = 0; k < nname[t]; k++)
            in += sdf[name_servers[t][k]];
        for (uint32_t k = 0; k < nname[t] + nt; k++) {
            bool named = k < nname[t];
            uint32_t s = named ? name_servers[t][k] : touched[k - nname[t]];
            float strength = 0.0f;

            if (named) {
                /* The named servers' own tools count as using the term: they carry it in
                 * their routed name even where their descriptions do not repeat it. */
                uint32_t own = 0;

                for (uint32_t j = 0; j < nname[t]; j++)
                    own += idx->server_ndocs[name_servers[t][j]];
                strength = (float)(in + own) / (float)(dfns + own);
            } else {
                bool dup = false;

                for (uint32_t j = 0; j < nname[t]; j++)
                    dup = dup || name_servers[t][j] == s;
                if (dup || sdf[s] < 3 || sdf[s] * 2 < dfns ||
                    (float)sdf[s] < 0.15f * (float)idx->server_ndocs[s])
                    continue;
                strength = idx->rk->affinity * (float)sdf[s] / (float)dfns;
            }
            if (idx->naff == cap) {
                cap = cap ? cap * 2 : 256;
                idx->aff = xrealloc(idx->aff, cap * sizeof(*idx->aff));
            }
            idx->aff[idx->naff].server = s;
            idx->aff[idx->naff].strength = strength;
            idx->naff++;
            tm->naff++;
        }
        for (size_t k = 0; k < nt; k++)
            sdf[touched[k]] = 0;
    }
    free(sdf);
    free(touched);
}

struct name_collect {
    struct search_index *idx;
    uint32_t server;
    uint32_t **name_servers;
    uint32_t *nname;
};

static void on_server_token(void *ctx, const char *tok, size_t n, size_t pos)
{
    struct name_collect *c = ctx;

    (void)pos;
    char buf[SEARCH_MAX_TOKEN];

    if (is_stop_word(tok, n))
        return;
    n = normalize_token(tok, n, buf);
    uint32_t t = strmap_get(&c->idx->vocab, buf, n);
    if (t == UINT32_MAX)
        return;
    for (uint32_t k = 0; k < c->nname[t]; k++)
        if (c->name_servers[t][k] == c->server)
            return;
    c->name_servers[t] = xrealloc(c->name_servers[t], (c->nname[t] + 1) * sizeof(uint32_t));
    c->name_servers[t][c->nname[t]++] = c->server;
}

struct syn_collect {
    const char *stem[4];
    uint32_t n;
    struct arena *arena;
};

static void on_syn_token(void *ctx, const char *tok, size_t n, size_t pos)
{
    struct syn_collect *c = ctx;

    (void)pos;
    char buf[SEARCH_MAX_TOKEN];

    if (c->n == 4)
        return;
    n = normalize_token(tok, n, buf);
    c->stem[c->n++] = arena_strndup(c->arena, buf, n);
}

/* Compiles the synonym table to stems, once per index (cheap: a few hundred words). */
static void build_synonyms(struct search_index *idx)
{
    size_t cap = 0;

    for (size_t g = 0; g < NGROUPS; g++) {
        idx->group_first[g] = (uint32_t)idx->nsyn;
        for (size_t m = 0; m < SYN_WIDTH && synonym_groups[g].word[m] != NULL; m++) {
            const char *w = synonym_groups[g].word[m];
            struct syn_collect c = {.n = 0, .arena = &idx->arena};

            tokenize(w, strlen(w), 4, on_syn_token, &c);
            if (c.n == 0)
                continue;
            if (idx->nsyn == cap) {
                cap = cap ? cap * 2 : 512;
                idx->syn = xrealloc(idx->syn, cap * sizeof(*idx->syn));
                idx->syn_next = xrealloc(idx->syn_next, cap * sizeof(*idx->syn_next));
            }
            struct syn_member *sm = &idx->syn[idx->nsyn];
            sm->group = (uint32_t)g;
            sm->nstem = c.n;
            memcpy(sm->stem, c.stem, sizeof(c.stem));
            for (uint32_t i = 0; i < c.n; i++) {
                sm->slen[i] = (uint32_t)strlen(c.stem[i]);
                sm->hash[i] = hash_bytes(c.stem[i], sm->slen[i]);
                sm->term[i] = strmap_get(&idx->vocab, c.stem[i], sm->slen[i]);
            }
            idx->syn_next[idx->nsyn] = UINT32_MAX;
            if (c.n == 1) {
                uint32_t head = strmap_get(&idx->syn_map, c.stem[0], strlen(c.stem[0]));

                if (head == UINT32_MAX) {
                    strmap_put(&idx->syn_map, c.stem[0], strlen(c.stem[0]), (uint32_t)idx->nsyn);
                } else {
                    while (idx->syn_next[head] != UINT32_MAX)
                        head = idx->syn_next[head];
                    idx->syn_next[head] = (uint32_t)idx->nsyn;
                }
            }
            idx->nsyn++;
        }
    }
    idx->group_first[NGROUPS] = (uint32_t)idx->nsyn;
    idx->phrases = xmalloc((idx->nsyn ? idx->nsyn : 1) * sizeof(*idx->phrases));
    for (size_t k = 0; k < idx->nsyn; k++)
        if (idx->syn[k].nstem > 1)
            idx->phrases[idx->nphrases++] = (uint32_t)k;
}

/* The prefix bucket of a text of at least 4 bytes: a hash of its first 4. */
static size_t pfx_bucket(const struct search_index *idx, const char *s)
{
    uint32_t k;

    memcpy(&k, s, 4);
    return (size_t)((k * 0x9e3779b1u) >> (32 - idx->pfx_bits));
}

/* The vocabulary in the two arrangements that unknown query words search: by first 4 bytes (a
 * completion of a 4+ byte word starts with them) and by length (a typo is at most two bytes
 * longer or shorter). Both are counting sorts, linear in the vocabulary. */
static void build_lookups(struct search_index *idx)
{
    size_t nt = idx->nterms, nb;

    idx->pfx_bits = 6;
    while (((size_t)1 << idx->pfx_bits) < nt / 2 && idx->pfx_bits < 24)
        idx->pfx_bits++;
    nb = (size_t)1 << idx->pfx_bits;
    idx->pfx_first = xcalloc(nb + 1, sizeof(*idx->pfx_first));
    for (size_t t = 0; t < nt; t++)
        if (idx->terms[t].len > 4)
            idx->pfx_first[pfx_bucket(idx, idx->terms[t].text) + 1]++;
    for (size_t b = 1; b <= nb; b++)
        idx->pfx_first[b] += idx->pfx_first[b - 1];
    idx->pfx_terms =
        xmalloc((idx->pfx_first[nb] ? idx->pfx_first[nb] : 1) * sizeof(*idx->pfx_terms));
    uint32_t *pfill = xmalloc(nb * sizeof(*pfill));
    memcpy(pfill, idx->pfx_first, nb * sizeof(*pfill));
    for (size_t t = 0; t < nt; t++)
        if (idx->terms[t].len > 4)
            idx->pfx_terms[pfill[pfx_bucket(idx, idx->terms[t].text)]++] = (uint32_t)t;
    free(pfill);

    idx->by_len = xmalloc((nt ? nt : 1) * sizeof(*idx->by_len));
    memset(idx->len_first, 0, sizeof(idx->len_first));
    for (size_t t = 0; t < nt; t++)
        idx->len_first[idx->terms[t].len + 1]++; /* len <= SEARCH_MAX_TOKEN by construction */
    for (size_t l = 1; l <= SEARCH_MAX_TOKEN + 1; l++)
        idx->len_first[l] += idx->len_first[l - 1];
    uint32_t fill[SEARCH_MAX_TOKEN + 1];
    memcpy(fill, idx->len_first, sizeof(fill));
    for (size_t t = 0; t < nt; t++) {
        struct lenterm *lt = &idx->by_len[fill[idx->terms[t].len]++];

        lt->letters = idx->terms[t].letters;
        lt->term = (uint32_t)t;
    }
}

static struct cache *cache_new(void)
{
    struct cache *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    return c;
}

struct search_builder *search_builder_new(size_t n)
{
    struct search_index *idx = xcalloc(1, sizeof(*idx));
    struct search_builder *b = xcalloc(1, sizeof(*b));

    if (n > SEARCH_MAX_DOCS)
        n = SEARCH_MAX_DOCS;
    b->idx = idx;
    b->expected = n;
    idx->rk = &ranking_default;
    idx->names = xcalloc(n ? n : 1, sizeof(*idx->names));
    idx->info = xcalloc(n ? n : 1, sizeof(*idx->info));
    idx->cache = cache_new();
    strmap_init(&idx->vocab, term_key, idx);
    strmap_init(&idx->server_map, server_key, idx);
    strmap_init(&idx->exact_full, full_key, idx);
    strmap_init(&idx->exact_tool, tool_key, idx);
    strmap_init(&idx->syn_map, syn_key, idx);
    strmap_init(&b->tokens, tok_key, b);
    strmap_init(&b->memo, memo_key, b);
    b->flen = xcalloc(n ? n * F_COUNT : 1, sizeof(*b->flen));
    b->doc_first = xcalloc(n + 1, sizeof(*b->doc_first));
    /* The maps start near the size 1,000 real tools need (about 5,000 terms, 7,000 distinct
     * tokens and parameter texts: the vocabulary grows slower than the catalog). */
    {
        size_t hint = n < 1000 ? 8 * n : 8192;

        strmap_grow(&idx->vocab, 2 * hint);
        strmap_grow(&b->tokens, 2 * hint);
        strmap_grow(&b->memo, hint);
        strmap_grow(&idx->exact_full, 2 * n);
        strmap_grow(&idx->exact_tool, 2 * n);
        b->cap_terms = hint > 0 ? hint : 1;
        idx->terms = xmalloc(b->cap_terms * sizeof(*idx->terms));
        b->cap_last = b->cap_terms;
        b->last = xmalloc(b->cap_last * sizeof(*b->last));
        memset(b->last, 0xff, b->cap_last * sizeof(*b->last)); /* UINT32_MAX: no entry yet */
    }
    return b;
}

void search_builder_add(struct search_builder *b, const struct search_doc *d)
{
    struct search_index *idx = b->idx;
    size_t i = idx->n;

    if (i >= b->expected)
        return;
    b->doc = (uint32_t)i;
    idx->n++;
    idx->names[i] = d->name != NULL ? d->name : ""; /* names order ties: never NULL */
    idx->info[i].server = server_id(idx, &b->cap_servers, d);
    idx->server_ndocs[idx->info[i].server]++;
    b->doc_first[i + 1] = b->doc_first[i];
    add_str(b, F_NAME, tool_part(d));
    add_memo(b, F_SERVER, idx->servers[idx->info[i].server]);
    add_str(b, F_TITLE, d->title);
    if (d->description != NULL) {
        b->lead_end = lead_length(d->description);
        add_str(b, F_DESC, d->description);
    }
    if (d->input_schema != NULL)
        add_schema(b, cJSON_GetObjectItemCaseSensitive(d->input_schema, "properties"), 0);
    flush_doc(b);
    index_exact(idx, (uint32_t)i, d);
}

/* Frees what only building needed. */
static void builder_free(struct search_builder *b)
{
    free(b->tokens.slot);
    free(b->tok);
    free(b->memo.slot);
    free(b->memos);
    free(b->memo_ids);
    arena_free(&b->token_text);
    free(b->last);
    for (size_t k = 0; k < b->nblocks; k++)
        free(b->raw[k]);
    free(b->raw);
    free(b->doc_first);
    free(b->flen);
    free(b);
}

struct search_index *search_builder_finish(struct search_builder *b)
{
    struct search_index *idx = b->idx;
    size_t n = idx->n;
    double avg[F_COUNT] = {0};
    uint32_t **name_servers = NULL, *nname = NULL;

    /* The tokens and parameter texts are no longer looked up: free their maps before the
     * postings are allocated, so that both never take memory at once. */
    free(b->tokens.slot);
    b->tokens.slot = NULL;
    free(b->memo.slot);
    b->memo.slot = NULL;
    for (size_t i = 0; i < NDESTROY; i++) {
        char buf[SEARCH_MAX_TOKEN];
        size_t k = strlen(destroy_verbs[i]);

        memcpy(buf, destroy_verbs[i], k);
        k = stem(buf, k);
        uint32_t t = strmap_get(&idx->vocab, buf, k);
        if (t != UINT32_MAX)
            idx->terms[t].destroy = true;
    }
    for (size_t d = 0; d < n; d++)
        for (size_t r = b->doc_first[d]; r < b->doc_first[d + 1]; r++)
            if (raw_at(b, r)->tf[F_NAME] > 0 && idx->terms[raw_at(b, r)->term].destroy)
                idx->info[d].destroy = true;

    /* BM25F: normalize each field by its length against that field's average. */
    for (size_t i = 0; i < n; i++)
        for (int f = 0; f < F_COUNT; f++)
            avg[f] += b->flen[i * F_COUNT + (size_t)f];
    for (int f = 0; f < F_COUNT; f++)
        avg[f] = n ? avg[f] / (double)n : 0.0;
    for (size_t r = 0; r < b->nraw; r++)
        idx->terms[raw_at(b, r)->term].df++;
    uint32_t off = 0;
    for (size_t t = 0; t < idx->nterms; t++) {
        struct term *tm = &idx->terms[t];

        tm->post = off;
        off += tm->df;
        tm->idf = (float)log(1.0 + ((double)n - tm->df + 0.5) / (tm->df + 0.5));
        tm->df = 0; /* refilled below as the fill cursor */
    }
    idx->npost = b->nraw;
    idx->post = xmalloc((b->nraw ? b->nraw : 1) * sizeof(*idx->post));
    for (size_t d = 0; d < n; d++) {
        double norm[F_COUNT];

        /* The length norm of each field of the document, computed once rather than per term. */
        for (int f = 0; f < F_COUNT; f++) {
            double len = b->flen[d * F_COUNT + (size_t)f];

            norm[f] = avg[f] > 0 ? 1.0 - idx->rk->b[f] + idx->rk->b[f] * len / avg[f] : 1.0;
        }
        for (size_t r = b->doc_first[d]; r < b->doc_first[d + 1]; r++) {
            const struct raw *rw = raw_at(b, r);
            struct term *tm = &idx->terms[rw->term];
            double tf = 0.0;
            uint32_t fields = 0;

            for (int f = 0; f < F_COUNT; f++) {
                if (rw->tf[f] == 0)
                    continue;
                tf += idx->rk->weight[f] * (double)rw->tf[f] / norm[f];
                fields |= FIELD_BIT(f);
            }
            struct posting *p = &idx->post[tm->post + tm->df++];
            p->doc = (uint32_t)d;
            p->w = (float)(tf * (idx->rk->k1 + 1.0) / (tf + idx->rk->k1));
            p->fields = fields;
        }
    }
    builder_free(b);

    name_servers = xcalloc(idx->nterms ? idx->nterms : 1, sizeof(*name_servers));
    nname = xcalloc(idx->nterms ? idx->nterms : 1, sizeof(*nname));
    for (size_t s = 0; s < idx->nservers; s++) {
        struct name_collect c = {idx, (uint32_t)s, name_servers, nname};

        tokenize(idx->servers[s], strlen(idx->servers[s]), 16, on_server_token, &c);
    }
    build_affinities(idx, name_servers, nname);
    for (size_t t = 0; t < idx->nterms; t++)
        free(name_servers[t]);
    free(name_servers);
    free(nname);

    build_synonyms(idx);
    build_lookups(idx);
    idx->terms = xrealloc(idx->terms, (idx->nterms ? idx->nterms : 1) * sizeof(*idx->terms));

    idx->base_bytes =
        sizeof(*idx) + sizeof(*idx->cache) + idx->arena.bytes + n * sizeof(*idx->names) +
        idx->nterms * sizeof(*idx->terms) + idx->npost * sizeof(*idx->post) +
        idx->naff * sizeof(*idx->aff) + n * sizeof(*idx->info) +
        idx->nservers * (sizeof(*idx->servers) + sizeof(*idx->server_ndocs)) +
        idx->nsyn * (sizeof(*idx->syn) + sizeof(*idx->syn_next) + sizeof(*idx->phrases)) +
        idx->nterms * (sizeof(*idx->pfx_terms) + sizeof(*idx->by_len)) +
        (((size_t)1 << idx->pfx_bits) + 1) * sizeof(*idx->pfx_first) +
        (idx->vocab.cap + idx->server_map.cap + idx->exact_full.cap + idx->exact_tool.cap +
         idx->syn_map.cap) *
            sizeof(struct strmap_slot);
    return idx;
}

struct search_index *search_index_build(const struct search_doc *docs, size_t n)
{
    struct search_builder *b = search_builder_new(n);

    for (size_t i = 0; i < n; i++)
        search_builder_add(b, &docs[i]);
    return search_builder_finish(b);
}

static void scratch_free(struct scratch *s)
{
    free(s->score);
    free(s->cur);
    free(s->mcur);
    free(s->mask);
    free(s->nh);
    free(s->cnh);
    free(s->mnh);
    free(s->seen);
    free(s->cw);
    free(s->covsum);
    free(s->touched);
    free(s->ctouched);
    free(s->mtouched);
    free(s->srvsig);
    free(s->srvmask);
    free(s->stouched);
    free(s);
}

void search_index_free(struct search_index *idx)
{
    if (idx == NULL)
        return;
    struct cache *c = idx->cache;
    for (size_t i = 0; i < SEARCH_CACHE_SLOTS; i++) {
        free(c->slot[i].key);
        free(c->slot[i].hits);
    }
    while (c->free != NULL) {
        struct scratch *next = c->free->next;

        scratch_free(c->free);
        c->free = next;
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
    arena_free(&idx->arena);
    free(idx->names);
    free(idx->terms);
    free(idx->post);
    free(idx->aff);
    free(idx->info);
    free(idx->servers);
    free(idx->server_ndocs);
    free(idx->syn);
    free(idx->syn_next);
    free(idx->pfx_first);
    free(idx->pfx_terms);
    free(idx->phrases);
    free(idx->by_len);
    free(idx->vocab.slot);
    free(idx->server_map.slot);
    free(idx->exact_full.slot);
    free(idx->exact_tool.slot);
    free(idx->syn_map.slot);
    free(idx);
}

size_t search_index_memory(const struct search_index *idx)
{
    size_t bytes;

    if (idx == NULL)
        return 0;
    pthread_mutex_lock(&idx->cache->lock);
    bytes = idx->base_bytes + idx->cache->bytes +
            idx->cache->nscratch *
                (sizeof(struct scratch) +
                 idx->n * (5 * sizeof(float) + sizeof(uint64_t) + 4 + 3 * sizeof(uint32_t)) +
                 idx->nservers * (sizeof(float) + sizeof(uint64_t) + sizeof(uint32_t)));
    pthread_mutex_unlock(&idx->cache->lock);
    return bytes;
}

/* ------------------------------------------------------------------------ query analysis */

struct qterm {
    uint32_t term;
    float weight;
    bool direct; /* the query's own word (or its correction), not a synonym */
};

struct qmember {
    uint32_t first; /* into query.qt */
    uint32_t n;
};

struct qconcept {
    uint32_t first; /* into query.mem */
    uint32_t n;
    bool weak; /* a pure number: scored lightly, left out of coverage */
};

struct query {
    /* The stems of the query, sorted and unique: what the ranking depends on. */
    struct qstem {
        char s[SEARCH_MAX_TOKEN + 1];
        bool stop;
        uint32_t len;  /* strlen(s) */
        uint64_t hash; /* hash_bytes(s, len), set by analyze() */
    } stem[SEARCH_MAX_QUERY_TOKENS];
    size_t nstem;
    struct qterm qt[SEARCH_MAX_QTERMS];
    size_t nqt;
    struct qmember mem[SEARCH_MAX_MEMBERS];
    size_t nmem;
    struct qconcept con[SEARCH_MAX_CONCEPTS];
    size_t ncon;
};

static void on_query_token(void *ctx, const char *tok, size_t n, size_t pos)
{
    struct query *q = ctx;

    (void)pos;
    char buf[SEARCH_MAX_TOKEN];
    bool stop = is_stop_word(tok, n);

    if (q->nstem == SEARCH_MAX_QUERY_TOKENS)
        return;
    n = normalize_token(tok, n, buf);
    for (size_t i = 0; i < q->nstem; i++) {
        if (q->stem[i].len == n && memcmp(q->stem[i].s, buf, n) == 0) {
            q->stem[i].stop = q->stem[i].stop && stop;
            return;
        }
    }
    memcpy(q->stem[q->nstem].s, buf, n);
    q->stem[q->nstem].s[n] = '\0';
    q->stem[q->nstem].len = (uint32_t)n;
    q->stem[q->nstem].stop = stop;
    q->nstem++;
}

static int cmp_stem(const void *a, const void *b)
{
    const struct qstem *x = a, *y = b;

    return strcmp(x->s, y->s);
}

/* The query stem equal to stem i of a synonym member, or SIZE_MAX. */
static size_t query_stem_index(const struct query *q, const struct syn_member *sm, uint32_t i)
{
    for (size_t k = 0; k < q->nstem; k++)
        if (q->stem[k].hash == sm->hash[i] && q->stem[k].len == sm->slen[i] &&
            memcmp(q->stem[k].s, sm->stem[i], sm->slen[i]) == 0)
            return k;
    return SIZE_MAX;
}

static bool begin_member(struct query *q)
{
    if (q->nmem == SEARCH_MAX_MEMBERS)
        return false;
    q->mem[q->nmem].first = (uint32_t)q->nqt;
    q->mem[q->nmem].n = 0;
    q->nmem++;
    return true;
}

static void member_add(struct query *q, uint32_t term, float weight, bool direct)
{
    struct qmember *m = &q->mem[q->nmem - 1];

    for (uint32_t i = m->first; i < m->first + m->n; i++)
        if (q->qt[i].term == term)
            return;
    if (q->nqt == SEARCH_MAX_QTERMS)
        return;
    q->qt[q->nqt].term = term;
    q->qt[q->nqt].weight = weight;
    q->qt[q->nqt].direct = direct;
    q->nqt++;
    m->n++;
}

/* Adds a one-term member to the current concept unless the concept already has that term. */
static void concept_add_term(struct query *q, uint32_t term, float weight, bool direct)
{
    struct qconcept *c = &q->con[q->ncon - 1];

    for (uint32_t m = c->first; m < c->first + c->n; m++) {
        const struct qmember *mm = &q->mem[m];

        if (mm->n == 1 && q->qt[mm->first].term == term) {
            if (q->qt[mm->first].weight < weight)
                q->qt[mm->first].weight = weight;
            q->qt[mm->first].direct = q->qt[mm->first].direct || direct;
            return;
        }
    }
    if (!begin_member(q))
        return;
    member_add(q, term, weight, direct);
    c->n++;
}

/* Adds a synonym member: the stems of one table entry, those the index knows. */
static void concept_add_syn(struct query *q, const struct syn_member *sm, float weight)
{
    struct qconcept *c = &q->con[q->ncon - 1];
    uint32_t ids[4];
    uint32_t k = 0;

    for (uint32_t i = 0; i < sm->nstem; i++)
        if (sm->term[i] != UINT32_MAX)
            ids[k++] = sm->term[i];
    if (k == 0)
        return;
    if (k == 1) {
        concept_add_term(q, ids[0], weight, false);
        return;
    }
    for (uint32_t m = c->first; m < c->first + c->n; m++) {
        bool same = q->mem[m].n == k;

        for (uint32_t i = 0; same && i < k; i++)
            same = q->qt[q->mem[m].first + i].term == ids[i];
        if (same)
            return;
    }
    if (!begin_member(q))
        return;
    for (uint32_t i = 0; i < k; i++)
        member_add(q, ids[i], weight / (float)k * 1.5f, false);
    c->n++;
}

/* Adds every other member of every group that holds member `self`'s stem. */
static void expand_groups(struct query *q, const struct search_index *idx, const char *s,
                          float weight)
{
    for (uint32_t m = strmap_get(&idx->syn_map, s, strlen(s)); m != UINT32_MAX;
         m = idx->syn_next[m]) {
        uint32_t g = idx->syn[m].group;

        for (size_t k = idx->group_first[g]; k < idx->group_first[g + 1]; k++) {
            if (idx->syn[k].nstem == 1 && strcmp(idx->syn[k].stem[0], s) == 0)
                continue;
            concept_add_syn(q, &idx->syn[k], synonym_groups[g].same ? idx->rk->w_same : weight);
        }
    }
}

/* Optimal-string-alignment distance (transpositions count one) when it is at most limit, else
 * some value above limit. Only the band of cells within limit of the diagonal is computed: a
 * cell off it costs more than limit to reach. Both strings are at most SEARCH_SUGGEST_KEY
 * bytes. */
static unsigned edit_distance(const char *a, size_t la, const char *b, size_t lb, unsigned limit)
{
    unsigned rows[3][SEARCH_SUGGEST_KEY + 1];
    unsigned *pp = rows[0], *p = rows[1], *c = rows[2];
    const unsigned over = limit + 1; /* stands for any value above limit */

    if (la > SEARCH_SUGGEST_KEY || lb > SEARCH_SUGGEST_KEY)
        return over;
    if ((la > lb ? la - lb : lb - la) > limit)
        return over;
    for (size_t j = 0; j <= lb; j++)
        p[j] = j <= limit ? (unsigned)j : over;
    for (size_t i = 1; i <= la; i++) {
        size_t lo = i > limit ? i - limit : 1, hi = i + limit < lb ? i + limit : lb;
        unsigned best = over;

        /* The cells just outside the band, read by this row and the next. */
        c[lo - 1] = lo == 1 ? (unsigned)i : over;
        if (lo == 1 && i < best)
            best = (unsigned)i;
        if (hi < lb)
            c[hi + 1] = over;
        for (size_t j = lo; j <= hi; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned v = p[j - 1] + cost;

            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return over;
        unsigned *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[lb];
}

static int popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (int)((x * 0x0101010101010101ull) >> 56);
}

/* Vocabulary terms that complete an unknown word, the most frequent first. A word of 4+ bytes
 * (all that add_stem() passes) is completed only by terms of its prefix bucket. */
static void add_prefix_terms(struct query *q, const struct search_index *idx, const char *s)
{
    size_t n = strlen(s);
    uint32_t best[SEARCH_PREFIX_MAX];
    size_t nbest = 0, lo = 0, hi = idx->nterms;

    if (n >= 4) {
        size_t b = pfx_bucket(idx, s);

        lo = idx->pfx_first[b];
        hi = idx->pfx_first[b + 1];
    }
    for (size_t r = lo; r < hi; r++) {
        uint32_t id = n >= 4 ? idx->pfx_terms[r] : (uint32_t)r;
        const struct term *t = &idx->terms[id];
        size_t k;

        if (t->len <= n || t->len > n + 8 || memcmp(t->text, s, n) != 0)
            continue;
        /* Keep best[] ordered by df descending, then by text. */
        for (k = nbest; k > 0; k--) {
            const struct term *o = &idx->terms[best[k - 1]];

            if (o->df > t->df || (o->df == t->df && strcmp(o->text, t->text) < 0))
                break;
        }
        if (k >= SEARCH_PREFIX_MAX)
            continue;
        if (nbest < SEARCH_PREFIX_MAX)
            nbest++;
        memmove(best + k + 1, best + k, (nbest - 1 - k) * sizeof(*best));
        best[k] = id;
    }
    for (size_t i = 0; i < nbest; i++)
        concept_add_term(q, best[i], idx->rk->w_prefix, true);
}

/*
 * How likely a correction is: edit distance first, then the kind of slip. A dropped letter
 * ("serch") or swapped neighbours ("hsot") are the common typing errors, a wrong letter less
 * so, an extra letter least; so "scape" reads as "scrape" before "scope" or "cape".
 */
static unsigned typo_cost(const char *s, size_t n, const struct term *t, unsigned d)
{
    unsigned kind;

    if (t->len > n) {
        kind = 0;
    } else if (t->len < n) {
        kind = 2;
    } else {
        kind = 1;
        for (size_t i = 0; i + 1 < n; i++) {
            if (s[i] != t->text[i]) {
                if (s[i] == t->text[i + 1] && s[i + 1] == t->text[i] &&
                    memcmp(s + i + 2, t->text + i + 2, n - i - 2) == 0)
                    kind = 0;
                break;
            }
        }
    }
    return d * 4 + kind;
}

/* Terms within a small edit distance of an unknown word: the likeliest, then the most used. */
static void add_typo_terms(struct query *q, const struct search_index *idx, const char *s)
{
    size_t n = strlen(s);
    unsigned limit = n >= 8 ? 2 : 1;
    uint32_t letters = letter_mask(s, n);
    uint32_t best[SEARCH_TYPO_MAX];
    unsigned bestc[SEARCH_TYPO_MAX];
    size_t nbest = 0;

    if (n < 3 || n > SEARCH_SUGGEST_KEY)
        return;
    for (size_t i = 0; i < n; i++)
        if (!is_lower((unsigned char)s[i]))
            return;
    size_t lmin = n - limit < 3 ? 3 : n - limit, lmax = n + limit;

    if (lmax > SEARCH_MAX_TOKEN)
        lmax = SEARCH_MAX_TOKEN;
    for (size_t r = lmin <= lmax ? idx->len_first[lmin] : 0;
         lmin <= lmax && r < idx->len_first[lmax + 1]; r++) {
        /* More than 2 * limit letters in one word and not the other: clearing that many
         * lowest bits of the difference leaves some. */
        uint32_t x = idx->by_len[r].letters ^ letters;

        x &= x - 1;
        x &= x - 1;
        if (limit == 2) {
            x &= x - 1;
            x &= x - 1;
        }
        if (x != 0)
            continue;
        uint32_t t = idx->by_len[r].term;
        const struct term *tm = &idx->terms[t];
        unsigned d = edit_distance(s, n, tm->text, tm->len, limit);
        if (d > limit)
            continue;
        unsigned cost = typo_cost(s, n, tm, d);
        /* Insert in order of (cost, df descending, text); keep the best few. */
        size_t k = nbest;
        while (k > 0) {
            const struct term *o = &idx->terms[best[k - 1]];
            bool before = cost < bestc[k - 1] ||
                          (cost == bestc[k - 1] &&
                           (tm->df > o->df || (tm->df == o->df && strcmp(tm->text, o->text) < 0)));
            if (!before)
                break;
            k--;
        }
        if (k >= SEARCH_TYPO_MAX)
            continue;
        size_t last = nbest < SEARCH_TYPO_MAX ? nbest++ : SEARCH_TYPO_MAX - 1;
        for (size_t j = last; j > k; j--) {
            best[j] = best[j - 1];
            bestc[j] = bestc[j - 1];
        }
        best[k] = t;
        bestc[k] = cost;
    }
    for (size_t i = 0; i < nbest; i++)
        if (bestc[i] == bestc[0])
            concept_add_term(q, best[i], idx->rk->w_typo, true);
}

static bool is_number(const char *s)
{
    for (; *s != '\0'; s++)
        if (!is_digit((unsigned char)*s))
            return false;
    return true;
}

static bool begin_concept(struct query *q, bool weak)
{
    if (q->ncon == SEARCH_MAX_CONCEPTS)
        return false;
    q->con[q->ncon].first = (uint32_t)q->nmem;
    q->con[q->ncon].n = 0;
    q->con[q->ncon].weak = weak;
    q->ncon++;
    return true;
}

/* Adds one query stem to the current concept: itself, its synonyms, and when the index does
 * not know it, the word without a "re" prefix, completions or typo corrections. */
static void add_stem(struct query *q, const struct search_index *idx, const char *s)
{
    uint32_t t = strmap_get(&idx->vocab, s, strlen(s));
    uint32_t before = q->con[q->ncon - 1].n;

    if (t != UINT32_MAX)
        concept_add_term(q, t, 1.0f, true);
    expand_groups(q, idx, s, idx->rk->w_synonym);
    if (t == UINT32_MAX && strncmp(s, "re", 2) == 0 && strlen(s) >= 6) {
        uint32_t base = strmap_get(&idx->vocab, s + 2, strlen(s + 2));

        if (base != UINT32_MAX)
            concept_add_term(q, base, idx->rk->w_prefix, true);
    }
    if (q->con[q->ncon - 1].n == before && strlen(s) >= 4)
        add_prefix_terms(q, idx, s);
    if (q->con[q->ncon - 1].n == before)
        add_typo_terms(q, idx, s);
}

/*
 * Turns the sorted stems into concepts. Phrases of the synonym table found in the query come
 * first and take over their words; every other non-stop stem is one concept made of itself,
 * its synonyms, and when the index does not know it, completions or typo corrections.
 */
static void analyze(struct query *q, const struct search_index *idx)
{
    bool used[SEARCH_MAX_QUERY_TOKENS] = {false};

    for (size_t i = 0; i < q->nstem; i++)
        q->stem[i].hash = hash_bytes(q->stem[i].s, q->stem[i].len);
    for (size_t ph = 0; ph < idx->nphrases; ph++) {
        size_t k = idx->phrases[ph];
        const struct syn_member *sm = &idx->syn[k];
        size_t pos[4];
        bool all = true;

        for (uint32_t i = 0; all && i < sm->nstem; i++) {
            pos[i] = query_stem_index(q, sm, i);
            all = pos[i] != SIZE_MAX;
        }
        if (!all || !begin_concept(q, false))
            continue;
        /* The phrase itself, then the rest of its group. */
        for (uint32_t i = 0; i < sm->nstem; i++)
            used[pos[i]] = true;
        concept_add_syn(q, sm, 1.0f);
        for (size_t j = idx->group_first[sm->group]; j < idx->group_first[sm->group + 1]; j++)
            if (j != k)
                concept_add_syn(q, &idx->syn[j],
                                synonym_groups[sm->group].same ? idx->rk->w_same
                                                               : idx->rk->w_phrase);
        if (q->con[q->ncon - 1].n == 0)
            q->ncon--;
    }
    /* Words of one synonym group ("make a new ...", "post a message") are one concept: the
     * query says the same thing twice, and a tool must not win by echoing both. */
    uint64_t groups[SEARCH_MAX_QUERY_TOKENS][GROUP_WORDS];
    size_t cluster[SEARCH_MAX_QUERY_TOKENS];
    const size_t nstem = q->nstem; /* concepts are added below; the stems stay */

    for (size_t i = 0; i < nstem; i++) {
        const char *s = q->stem[i].s;

        memset(groups[i], 0, sizeof(groups[i]));
        cluster[i] = i;
        if (used[i] || q->stem[i].stop)
            continue;
        for (uint32_t m = strmap_get(&idx->syn_map, s, strlen(s)); m != UINT32_MAX;
             m = idx->syn_next[m])
            groups[i][idx->syn[m].group / 64] |= 1ull << (idx->syn[m].group % 64);
        for (size_t j = 0; j < i; j++) {
            bool shared = false;

            for (size_t w = 0; w < GROUP_WORDS; w++)
                shared = shared || (groups[i][w] & groups[j][w]) != 0;
            if (shared) {
                cluster[i] = cluster[j];
                break;
            }
        }
    }
    for (size_t i = 0; i < nstem; i++) {
        const char *s = q->stem[i].s;
        uint32_t t;

        if (used[i] || cluster[i] != i)
            continue;
        t = strmap_get(&idx->vocab, s, strlen(s));
        /* A stop word only counts where a tool's name uses it. */
        if (q->stem[i].stop) {
            if (t != UINT32_MAX && begin_concept(q, true))
                concept_add_term(q, t, 1.0f, false);
            continue;
        }
        if (!begin_concept(q, is_number(s)))
            continue;
        for (size_t k = i; k < nstem; k++)
            if (!used[k] && cluster[k] == i)
                add_stem(q, idx, q->stem[k].s);
        if (q->con[q->ncon - 1].n == 0)
            q->ncon--;
    }
}

/* ------------------------------------------------------------------------ ranking */

static struct scratch *scratch_get(const struct search_index *idx)
{
    struct cache *c = idx->cache;
    struct scratch *s;
    size_t n = idx->n ? idx->n : 1, ns = idx->nservers ? idx->nservers : 1;

    pthread_mutex_lock(&c->lock);
    s = c->free;
    if (s != NULL)
        c->free = s->next;
    else
        c->nscratch++;
    pthread_mutex_unlock(&c->lock);
    if (s != NULL)
        return s;
    s = xcalloc(1, sizeof(*s));
    s->score = xcalloc(n, sizeof(float));
    s->cur = xcalloc(n, sizeof(float));
    s->mcur = xcalloc(n, sizeof(float));
    s->mask = xcalloc(n, sizeof(uint64_t));
    s->nh = xcalloc(n, 1);
    s->cnh = xcalloc(n, 1);
    s->mnh = xcalloc(n, 1);
    s->seen = xcalloc(n, 1);
    s->cw = xcalloc(n, sizeof(float));
    s->covsum = xcalloc(n, sizeof(float));
    s->touched = xmalloc(n * sizeof(uint32_t));
    s->ctouched = xmalloc(n * sizeof(uint32_t));
    s->mtouched = xmalloc(n * sizeof(uint32_t));
    s->srvsig = xcalloc(ns, sizeof(float));
    s->srvmask = xcalloc(ns, sizeof(uint64_t));
    s->stouched = xmalloc(ns * sizeof(uint32_t));
    return s;
}

static void scratch_put(const struct search_index *idx, struct scratch *s)
{
    for (size_t i = 0; i < s->nt; i++) {
        uint32_t d = s->touched[i];

        s->score[d] = 0.0f;
        s->covsum[d] = 0.0f;
        s->mask[d] = 0;
        s->nh[d] = 0;
    }
    for (size_t i = 0; i < s->nst; i++) {
        s->srvsig[s->stouched[i]] = 0.0f;
        s->srvmask[s->stouched[i]] = 0;
    }
    s->nt = s->nst = 0;
    pthread_mutex_lock(&idx->cache->lock);
    s->next = idx->cache->free;
    idx->cache->free = s;
    pthread_mutex_unlock(&idx->cache->lock);
}

/* Scores one concept into the accumulators: the best member per document. */
static void score_concept(const struct search_index *idx, const struct query *q, size_t ci,
                          struct scratch *s)
{
    const struct qconcept *c = &q->con[ci];
    float cw = c->weak ? idx->rk->w_weak : 1.0f;
    float ind = 0.0f;

    /* A word that names a server ("github", "gmail") picks the server; within it, it says
     * nothing about which tool, so it weighs less in the text score and the server boost
     * takes over. */
    for (uint32_t m = c->first; m < c->first + c->n; m++) {
        for (uint32_t k = q->mem[m].first; k < q->mem[m].first + q->mem[m].n; k++) {
            const struct term *t = &idx->terms[q->qt[k].term];

            for (uint32_t a = t->aff; q->qt[k].direct && a < t->aff + t->naff; a++)
                if (idx->aff[a].strength > ind)
                    ind = idx->aff[a].strength;
        }
    }
    cw *= 1.0f - idx->rk->server_damp * ind;

    s->nct = 0;
    for (uint32_t m = c->first; m < c->first + c->n; m++) {
        const struct qmember *mm = &q->mem[m];
        float mw = 0.0f, mcov = 0.0f;

        if (mm->n == 1) {
            /* One term (the common case): its posting score is the member score. */
            const struct qterm *qt = &q->qt[mm->first];
            const struct term *t = &idx->terms[qt->term];
            float w = qt->weight * t->idf * cw;

            mcov = powf(qt->weight > mw ? qt->weight : mw, idx->rk->cov_exp);
            for (uint32_t p = t->post; p < t->post + t->df; p++) {
                const struct posting *po = &idx->post[p];
                uint32_t d = po->doc;
                float v = w * po->w;

                if (!(s->seen[d] & 2)) {
                    s->seen[d] |= 2;
                    s->ctouched[s->nct++] = d;
                }
                if (v > s->cur[d])
                    s->cur[d] = v;
                if (mcov > s->cw[d])
                    s->cw[d] = mcov;
                if (po->fields & FIELD_BIT(F_NAME))
                    s->cnh[d] = 1;
            }
            continue;
        }
        s->nmt = 0;
        for (uint32_t k = mm->first; k < mm->first + mm->n; k++) {
            const struct term *t = &idx->terms[q->qt[k].term];
            float w = q->qt[k].weight * t->idf * cw;

            if (q->qt[k].weight > mw)
                mw = q->qt[k].weight;
            mcov = powf(mw, idx->rk->cov_exp);
            for (uint32_t p = t->post; p < t->post + t->df; p++) {
                const struct posting *po = &idx->post[p];
                uint32_t d = po->doc;

                if (!(s->seen[d] & 1)) {
                    s->seen[d] |= 1;
                    s->mtouched[s->nmt++] = d;
                }
                s->mcur[d] += w * po->w;
                if (po->fields & FIELD_BIT(F_NAME))
                    s->mnh[d] = 1;
            }
        }
        for (size_t i = 0; i < s->nmt; i++) {
            uint32_t d = s->mtouched[i];

            if (!(s->seen[d] & 2)) {
                s->seen[d] |= 2;
                s->ctouched[s->nct++] = d;
            }
            if (s->mcur[d] > s->cur[d])
                s->cur[d] = s->mcur[d];
            if (mcov > s->cw[d])
                s->cw[d] = mcov;
            s->cnh[d] |= s->mnh[d];
            s->mcur[d] = 0.0f;
            s->mnh[d] = 0;
            s->seen[d] &= (uint8_t)~1u;
        }
    }
    for (size_t i = 0; i < s->nct; i++) {
        uint32_t d = s->ctouched[i];

        if (s->mask[d] == 0)
            s->touched[s->nt++] = d; /* mask gains a bit below, so this happens once */
        s->score[d] += s->cur[d];
        s->mask[d] |= 1ull << ci;
        s->nh[d] += s->cnh[d];
        /* A concept met only through a synonym or a correction covers less of the query. */
        if (!c->weak)
            s->covsum[d] += s->cw[d];
        s->cur[d] = 0.0f;
        s->cw[d] = 0.0f;
        s->cnh[d] = 0;
        s->seen[d] = 0;
    }
}

/* What the query says about servers: names ("slack: ...") and server vocabulary ("gmail"). */
static void score_servers(const struct search_index *idx, const struct query *q, struct scratch *s)
{
    for (size_t ci = 0; ci < q->ncon; ci++) {
        const struct qconcept *c = &q->con[ci];

        for (uint32_t m = c->first; m < c->first + c->n; m++) {
            const struct qmember *mm = &q->mem[m];

            for (uint32_t k = mm->first; k < mm->first + mm->n; k++) {
                const struct term *t = &idx->terms[q->qt[k].term];

                for (uint32_t a = t->aff; a < t->aff + t->naff; a++) {
                    uint32_t sv = idx->aff[a].server;
                    float v = idx->aff[a].strength * q->qt[k].weight;

                    if (s->srvsig[sv] == 0.0f && s->srvmask[sv] == 0)
                        s->stouched[s->nst++] = sv;
                    /* One concept contributes once per server: keep its best term. */
                    if (!(s->srvmask[sv] & (1ull << ci)) || v > s->srvsig[sv]) {
                        if (v >= idx->rk->credit_min)
                            s->srvmask[sv] |= 1ull << ci;
                        if (v > s->srvsig[sv])
                            s->srvsig[sv] = v;
                    }
                }
            }
        }
    }
}

struct ranked {
    uint32_t doc;
    double score;
};

/* Higher score first, then name; two tools of the same name (a catalog may repeat one) by
 * index, so the order is total and any sort gives the same list. */
static bool ranks_before(const struct search_index *idx, const struct ranked *a,
                         const struct ranked *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    int c = strcmp(idx->names[a->doc], idx->names[b->doc]);
    return c != 0 ? c < 0 : a->doc < b->doc;
}

static int cmp_ranked(const void *a, const void *b, void *ctx)
{
    return ranks_before(ctx, a, b) ? -1 : ranks_before(ctx, b, a) ? 1 : 0;
}

/* Moves r down from slot i of the heap h[0..n) to its place. */
static void heap_sift_down(const struct search_index *idx, struct ranked *h, size_t n, size_t i,
                           struct ranked r)
{
    for (;;) {
        size_t l = 2 * i + 1, w = i;
        const struct ranked *worst = &r;

        if (l < n && ranks_before(idx, worst, &h[l])) {
            w = l;
            worst = &h[l];
        }
        if (l + 1 < n && ranks_before(idx, worst, &h[l + 1]))
            w = l + 1;
        if (w == i)
            break;
        h[i] = h[w];
        i = w;
    }
    h[i] = r;
}

/* A min-heap on rank: the root is the worst of the best k kept so far. */
static void heap_push(const struct search_index *idx, struct ranked *h, size_t *n, size_t k,
                      struct ranked r)
{
    size_t i;

    if (*n < k) {
        i = (*n)++;
        while (i > 0 && ranks_before(idx, &h[(i - 1) / 2], &r)) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = r;
        return;
    }
    if (ranks_before(idx, &r, &h[0]))
        heap_sift_down(idx, h, *n, 0, r);
}

/* Ranks into out (k entries at most), best first; returns the count. */
static size_t rank(const struct search_index *idx, const struct query *q, uint32_t server,
                   struct search_hit *out, size_t k)
{
    struct scratch *s = scratch_get(idx);
    struct ranked *heap = xmalloc((k ? k : 1) * sizeof(*heap));
    size_t nheap = 0, nstrong = 0, count;
    uint64_t strong = 0;

    for (size_t ci = 0; ci < q->ncon; ci++) {
        score_concept(idx, q, ci, s);
        if (!q->con[ci].weak) {
            strong |= 1ull << ci;
            nstrong++;
        }
    }
    score_servers(idx, q, s);
    bool destroys = false;
    for (size_t i = 0; i < q->nqt; i++)
        destroys = destroys || idx->terms[q->qt[i].term].destroy;
    /* A query yields few distinct coverages: remember pow() of the last ones seen. */
    struct {
        double cov, pw;
    } powmemo[16];
    for (size_t i = 0; i < 16; i++)
        powmemo[i].cov = -1.0;
    for (size_t i = 0; i < s->nt; i++) {
        uint32_t d = s->touched[i];
        const struct docinfo *di = &idx->info[d];
        double cov = 1.0, namecov = 0.0;

        if (server != UINT32_MAX && di->server != server)
            continue;
        if (nstrong > 0) {
            uint64_t credited = s->srvmask[di->server] & ~s->mask[d] & strong;

            cov = ((double)s->covsum[d] + (credited ? popcount64(credited) : 0)) / (double)nstrong;
            if (cov > 1.0)
                cov = 1.0;
        }
        if (di->name_terms > 0)
            namecov = (double)(s->nh[d] < di->name_terms ? s->nh[d] : di->name_terms) /
                      (double)di->name_terms;
        uint64_t cbits;
        memcpy(&cbits, &cov, sizeof(cbits));
        size_t slot = (size_t)((cbits ^ (cbits >> 29) ^ (cbits >> 47)) & 15);
        if (powmemo[slot].cov != cov) {
            powmemo[slot].cov = cov;
            powmemo[slot].pw = pow(cov, idx->rk->cov_pow);
        }
        double f = (idx->rk->cov_floor + (1.0 - idx->rk->cov_floor) * powmemo[slot].pw) *
                   (1.0 + idx->rk->name_mult * namecov);
        if (di->destroy && !destroys)
            f *= idx->rk->destroy;
        struct ranked r = {
            .doc = d,
            .score = s->score[d] * f + idx->rk->w_namecov * namecov * cov +
                     idx->rk->w_server * s->srvsig[di->server],
        };
        /* Most documents lose to the worst of a full heap on score alone. */
        if (nheap == k && r.score < heap[0].score)
            continue;
        heap_push(idx, heap, &nheap, k, r);
    }
    scratch_put(idx, s);
    /* Sort the kept best first: by insertion when they are few (they usually are 32). */
    count = nheap;
    if (count > 64) {
        qsort_r(heap, count, sizeof(*heap), cmp_ranked, (void *)idx);
    } else {
        for (size_t i = 1; i < count; i++) {
            struct ranked r = heap[i];
            size_t j = i;

            for (; j > 0 && ranks_before(idx, &r, &heap[j - 1]); j--)
                heap[j] = heap[j - 1];
            heap[j] = r;
        }
    }
    for (size_t i = 0; i < count; i++) {
        out[i].doc = heap[i].doc;
        out[i].score = heap[i].score;
    }
    free(heap);
    return count;
}

/* ------------------------------------------------------------------------ the cache */

/* The cache key: server, then the sorted unique stems (stop words marked), which is all the
 * ranking depends on; word order and case are gone, so rephrasings share an entry. */
static char *cache_key(const struct query *q, const char *server)
{
    size_t len = (server ? strlen(server) : 0) + 2;
    char *key, *p;

    for (size_t i = 0; i < q->nstem; i++)
        len += strlen(q->stem[i].s) + 2;
    key = p = xmalloc(len);
    if (server != NULL) {
        size_t n = strlen(server);

        memcpy(p, server, n);
        p += n;
    }
    *p++ = '\x1f';
    for (size_t i = 0; i < q->nstem; i++) {
        size_t n = strlen(q->stem[i].s);

        *p++ = q->stem[i].stop ? '-' : '+';
        memcpy(p, q->stem[i].s, n);
        p += n;
        *p++ = ' ';
    }
    *p = '\0';
    return key;
}

/* Copies a cached ranking to out when the entry can answer a request for max hits. */
static bool cache_lookup(const struct search_index *idx, const char *key, uint64_t h,
                         struct search_hit *out, size_t max, size_t *n)
{
    struct cache *c = idx->cache;
    bool found = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < SEARCH_CACHE_SLOTS; i++) {
        struct cache_entry *e = &c->slot[i];

        if (e->key == NULL || e->hash != h || strcmp(e->key, key) != 0)
            continue;
        if (e->n >= max || e->n < e->asked) {
            *n = e->n < max ? e->n : max;
            memcpy(out, e->hits, *n * sizeof(*out));
            e->used = ++c->clock;
            found = true;
        }
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

static void cache_store(const struct search_index *idx, char *key, uint64_t h,
                        const struct search_hit *hits, size_t n, size_t asked)
{
    struct cache *c = idx->cache;
    struct cache_entry *victim = NULL;
    struct search_hit *copy = xmalloc((n ? n : 1) * sizeof(*copy));
    struct search_hit *old_hits = NULL;
    char *old_key = NULL;

    memcpy(copy, hits, n * sizeof(*copy));
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < SEARCH_CACHE_SLOTS; i++) {
        struct cache_entry *e = &c->slot[i];

        if (e->key != NULL && e->hash == h && strcmp(e->key, key) == 0) {
            victim = e;
            break;
        }
        if (victim == NULL || (victim->key != NULL && (e->key == NULL || e->used < victim->used)))
            victim = e;
    }
    old_key = victim->key;
    old_hits = victim->hits;
    if (old_key != NULL)
        c->bytes -= strlen(old_key) + 1 + (victim->n ? victim->n : 1) * sizeof(*copy);
    victim->key = key;
    victim->hash = h;
    victim->hits = copy;
    victim->n = n;
    victim->asked = asked;
    victim->used = ++c->clock;
    c->bytes += strlen(key) + 1 + (n ? n : 1) * sizeof(*copy);
    pthread_mutex_unlock(&c->lock);
    free(old_key);
    free(old_hits);
}

/* ------------------------------------------------------------------------ queries */

static int cmp_doc_name(const void *a, const void *b, void *ctx)
{
    const struct search_index *idx = ctx;

    return strcmp(idx->names[*(const uint32_t *)a], idx->names[*(const uint32_t *)b]);
}

/* Documents whose name (with or without the server prefix) the query spells; at most cap. */
static size_t exact_matches(const struct search_index *idx, const char *query, uint32_t server,
                            uint32_t *out, size_t cap)
{
    size_t qlen = strnlen(query, SEARCH_EXACT_MAX + 1);
    char key[SEARCH_EXACT_MAX + 1];
    size_t n = 0, klen;

    if (qlen > SEARCH_EXACT_MAX)
        return 0;
    klen = compact(query, qlen, key, sizeof(key));
    if (klen == 0)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        const struct strmap *m = pass == 0 ? &idx->exact_full : &idx->exact_tool;
        size_t first = n;

        for (uint32_t d = strmap_get(m, key, klen); d != UINT32_MAX && n < cap;
             d = pass == 0 ? idx->info[d].next_full : idx->info[d].next_tool) {
            bool dup = false;

            if (server != UINT32_MAX && idx->info[d].server != server)
                continue;
            for (size_t i = 0; i < n; i++)
                dup = dup || out[i] == d;
            if (!dup)
                out[n++] = d;
        }
        qsort_r(out + first, n - first, sizeof(*out), cmp_doc_name, (void *)idx);
    }
    return n;
}

size_t search_query(const struct search_index *idx, const char *query, const char *server,
                    struct search_hit *out, size_t max)
{
    struct query *q = NULL;
    struct search_hit *hits = NULL;
    char *key = NULL;
    uint32_t exact[16];
    size_t nexact = 0, nhits = 0, want, count = 0;
    uint32_t sid = UINT32_MAX;
    uint64_t h;

    if (idx == NULL || query == NULL || out == NULL || max == 0 || idx->n == 0)
        goto out;
    if (max > idx->n)
        max = idx->n;
    if (server != NULL) {
        sid = strmap_get(&idx->server_map, server, strlen(server));
        if (sid == UINT32_MAX)
            goto out;
    }
    nexact = exact_matches(idx, query, sid, exact, sizeof(exact) / sizeof(exact[0]));

    q = xmalloc(sizeof(*q));
    q->nstem = q->nqt = q->nmem = q->ncon = 0;
    tokenize(query, strlen(query), SEARCH_MAX_QUERY_TOKENS, on_query_token, q);
    qsort(q->stem, q->nstem, sizeof(q->stem[0]), cmp_stem);
    /* A query of stop words only ("all") still means something: keep its words then. */
    {
        bool any = false;

        for (size_t i = 0; i < q->nstem; i++)
            any = any || !q->stem[i].stop;
        for (size_t i = 0; !any && i < q->nstem; i++)
            q->stem[i].stop = false;
    }
    want = max + nexact;
    if (want < SEARCH_CACHE_MIN_HITS)
        want = SEARCH_CACHE_MIN_HITS;
    if (want > idx->n)
        want = idx->n;
    hits = xmalloc(want * sizeof(*hits));
    key = cache_key(q, server);
    h = hash_bytes(key, strlen(key));
    if (!cache_lookup(idx, key, h, hits, max + nexact, &nhits)) {
        analyze(q, idx);
        nhits = rank(idx, q, sid, hits, want);
        cache_store(idx, key, h, hits, nhits, want);
        key = NULL;
    }

    for (size_t i = 0; i < nexact && count < max; i++) {
        out[count].doc = exact[i];
        out[count].score = (nhits > 0 ? hits[0].score : 0.0) + 1.0;
        count++;
    }
    for (size_t i = 0; i < nhits && count < max; i++) {
        bool dup = false;

        for (size_t j = 0; j < nexact; j++)
            dup = dup || exact[j] == hits[i].doc;
        if (!dup)
            out[count++] = hits[i];
    }
out:
    free(key);
    free(hits);
    free(q);
    return count;
}

size_t search_suggest(const struct search_index *idx, const char *text, size_t *out, size_t max)
{
    char key[SEARCH_SUGGEST_KEY + 1];
    struct ranked *best = NULL;
    struct search_hit *hits = NULL;
    size_t klen, nbest = 0, count = 0;
    unsigned limit;

    if (idx == NULL || text == NULL || out == NULL || max == 0 || idx->n == 0)
        goto out;
    klen = compact(text, strnlen(text, SEARCH_SUGGEST_KEY), key, sizeof(key));
    if (klen == 0)
        goto out;
    limit = klen < 6 ? 2 : (unsigned)(klen / 3);
    best = xmalloc(max * sizeof(*best));
    for (size_t d = 0; d < idx->n; d++) {
        const struct docinfo *di = &idx->info[d];
        unsigned a = edit_distance(key, klen, di->key_full, strlen(di->key_full), limit);
        unsigned b = edit_distance(key, klen, di->key_tool, strlen(di->key_tool), limit);
        unsigned dist = a < b ? a : b;

        if (dist > limit)
            continue;
        /* Lower distance ranks first; the heap orders by score, so negate it. */
        heap_push(idx, best, &nbest, max, (struct ranked){(uint32_t)d, -(double)dist});
    }
    /* Sort the kept few best first (the heap is small; insertion sort is enough). */
    for (size_t i = 1; i < nbest; i++) {
        struct ranked r = best[i];
        size_t j = i;

        for (; j > 0 && ranks_before(idx, &r, &best[j - 1]); j--)
            best[j] = best[j - 1];
        best[j] = r;
    }
    for (size_t i = 0; i < nbest; i++)
        out[count++] = best[i].doc;
    /* Not enough look-alikes: a half-remembered name is still a description of the tool. */
    if (count < max) {
        hits = xmalloc(max * sizeof(*hits));
        size_t nh = search_query(idx, text, NULL, hits, max);

        for (size_t i = 0; i < nh && count < max; i++) {
            bool dup = false;

            for (size_t j = 0; j < count; j++)
                dup = dup || out[j] == hits[i].doc;
            if (!dup)
                out[count++] = hits[i].doc;
        }
    }
out:
    free(best);
    free(hits);
    return count;
}
