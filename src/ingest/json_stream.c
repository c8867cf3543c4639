/*
 * json_stream.c: a pushdown JSON parser that turns records into COPY rows as it reads.
 *
 * Each byte is seen once.  The parser keeps one frame per open object or array, holding the
 * member name or index being read, so the path of every value is known when it starts: a value
 * at a column's path (relative to its record) goes into that column's slot, a record's end
 * writes the slots as a COPY row, and everything else is only checked for syntax.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "ingest/config.h"
#include "ingest/json_stream.h"
#include "util/bytes.h"

#define MAX_DEPTH 1000

typedef enum Expect
{
	EXPECT_VALUE,
	EXPECT_VALUE_OR_END,		/* just after [ */
	EXPECT_KEY,
	EXPECT_KEY_OR_END,			/* just after { */
	EXPECT_COLON,
	EXPECT_COMMA_OR_END
} Expect;

typedef enum Token
{
	TOKEN_NONE,
	TOKEN_STRING,
	TOKEN_NUMBER,
	TOKEN_LITERAL
} Token;

typedef enum Role
{
	ROLE_PLAIN,
	ROLE_RECORDS,				/* the array whose elements are the records */
	ROLE_RECORD					/* an object that is one record */
} Role;

#define TARGET_NONE (-1)
#define TARGET_PAGE (-2)

typedef struct Frame
{
	bool		is_object;
	Role		role;
	size_t		index;			/* arrays: the element being read */
	StringInfoData key;			/* objects: the member being read */
} Frame;

struct JsonStream
{
	bool		sequence;		/* the body is a sequence of records (NDJSON) */
	const JsonPath *records_path;
	const JsonPath *page_path;
	ColumnSpec **columns;
	int			ncolumns;
	const char *who;
	const char *what;
	const char *content_type;

	Frame	   *frames;
	int			depth;
	int			allocated;
	Expect		expect;
	bool		done;			/* the top-level value is complete */
	int64		offset;			/* bytes in the pieces before this one, for error positions */
	size_t		pos;			/* the byte being read in this piece, counted from 1 */

	Token		token;
	bool		token_is_key;
	int			target;			/* where the scalar being read goes */
	StringInfoData text;		/* a number or literal, or a string no column takes */
	StringInfo	sink;			/* where the string's characters go, or NULL to skip them */
	bool		sink_is_copy;	/* sink is a column's slot: COPY text */
	int			escape;			/* 0, 1 after a backslash, 2-5 inside \uXXXX */
	pg_wchar	code;
	pg_wchar	high_surrogate;

	int			record_depth;	/* frames[record_depth] is the record being read, or -1 */
	bool		found_records;
	StringInfoData *slots;		/* one COPY-escaped value per column */
	bool	   *filled;
	int			capture_depth;	/* > 0: an object or array kept raw for capture_column */
	int			capture_column;
	StringInfoData capture;		/* its text in the pieces before this one */
	size_t		capture_from;	/* where the rest of its text starts in this piece */

	int			next_column;	/* where the search for a member's column starts */
	const JsonPathStep **member_steps;	/* per column: its path's step if it is one member */
	int64		records;
	int64		stop_at;		/* feed returns once records reaches this, if > 0 */
	char	   *page_value;

	int			raw_column;		/* the column whose path is $ (the whole record), or -1 */
	StringInfo	raw_sink;		/* where each record's JSON text goes, or NULL */
	List	  **raw_ends;		/* the end offset in raw_sink of each record (int) */
	bool		recording;		/* the record under way is being kept in raw */
	StringInfoData raw;			/* its text in the pieces before this one */
	size_t		raw_from;		/* where the rest of its text starts in this piece */

	bool		track_fields;	/* note members of records that no column reads */
	List	   *unknown;		/* FieldSeen */
	FieldSeen  *field;			/* the unknown member whose value is being read, or NULL */
};

static void pg_attribute_noreturn()
syntax_error(JsonStream *s, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("%s: %s is not valid JSON", s->who, s->what),
			 errdetail("%s at byte " INT64_FORMAT " (content type %s).", why,
					   s->offset + (int64) s->pos,
					   s->content_type ? s->content_type : "not given")));
}

JsonStream *
json_stream_create(const JsonPath *records, List *columns, const JsonPath *page_path,
				   const char *who)
{
	JsonStream *s = palloc0(sizeof(JsonStream));
	ListCell   *lc;

	s->records_path = records;
	s->page_path = page_path;
	s->columns = palloc(sizeof(ColumnSpec *) * Max(list_length(columns), 1));
	s->member_steps = palloc(sizeof(JsonPathStep *) * Max(list_length(columns), 1));
	s->slots = palloc(sizeof(StringInfoData) * Max(list_length(columns), 1));
	s->filled = palloc0(sizeof(bool) * Max(list_length(columns), 1));
	s->raw_column = -1;
	foreach(lc, columns)
		json_stream_add_column(s, lfirst(lc));
	s->who = who;
	s->allocated = 16;
	s->frames = palloc0(sizeof(Frame) * s->allocated);
	for (int i = 0; i < s->allocated; i++)
		initStringInfo(&s->frames[i].key);
	initStringInfo(&s->text);
	initStringInfo(&s->capture);
	initStringInfo(&s->raw);
	return s;
}

void
json_stream_add_column(JsonStream *s, ColumnSpec *column)
{
	int			n = s->ncolumns++;

	s->columns = repalloc(s->columns, sizeof(ColumnSpec *) * s->ncolumns);
	s->member_steps = repalloc(s->member_steps, sizeof(JsonPathStep *) * s->ncolumns);
	s->member_steps[n] = column->path->nsteps == 1 && column->path->steps[0].key
		? &column->path->steps[0] : NULL;
	s->slots = repalloc(s->slots, sizeof(StringInfoData) * s->ncolumns);
	s->filled = repalloc(s->filled, sizeof(bool) * s->ncolumns);
	s->columns[n] = column;
	initStringInfo(&s->slots[n]);
	s->filled[n] = false;
	if (column->path->nsteps == 0)
		s->raw_column = n;
}

void
json_stream_set_sequence(JsonStream *s, bool sequence)
{
	s->sequence = sequence;
}

void
json_stream_keep_records(JsonStream *s, StringInfo sink, List **ends)
{
	s->raw_sink = sink;
	s->raw_ends = ends;
}

void
json_stream_track_fields(JsonStream *s, bool track)
{
	s->track_fields = track;
}

List *
json_stream_unknown_fields(JsonStream *s)
{
	return s->unknown;
}

void
json_stream_forget_fields(JsonStream *s)
{
	s->unknown = NIL;
}

void
json_stream_begin(JsonStream *s, const char *what, const char *content_type)
{
	s->what = what;
	s->content_type = content_type;
	s->depth = 0;
	s->expect = EXPECT_VALUE;
	s->done = false;
	s->offset = 0;
	s->token = TOKEN_NONE;
	s->record_depth = -1;
	s->found_records = false;
	s->capture_depth = 0;
	s->records = 0;
	s->page_value = NULL;
	s->recording = false;
	s->field = NULL;
}

int64
json_stream_records(JsonStream *s)
{
	return s->records;
}

const char *
json_stream_page_value(JsonStream *s)
{
	return s->page_value;
}

/* Whether the open frames[from..depth-1] spell path's steps exactly. */
static bool
at_path(JsonStream *s, int from, const JsonPath *path)
{
	if (path->nsteps != s->depth - from)
		return false;
	for (int i = 0; i < path->nsteps; i++)
	{
		const JsonPathStep *step = &path->steps[i];
		Frame	   *f = &s->frames[from + i];

		if (step->key ? !(f->is_object && f->key.len == step->key_length &&
						  memcmp(step->key, f->key.data, f->key.len) == 0)
			: (f->is_object || f->index != step->index))
			return false;
	}
	return true;
}

/* Appends s with COPY's text escapes. */
static void
append_copy_text(StringInfo out, const char *text, size_t length)
{
	size_t		run_start = 0;

	for (size_t i = 0; i < length; i++)
	{
		const char *escape;

		switch (text[i])
		{
			case '\\':
				escape = "\\\\";
				break;
			case '\n':
				escape = "\\n";
				break;
			case '\r':
				escape = "\\r";
				break;
			case '\t':
				escape = "\\t";
				break;
			default:
				continue;
		}
		append(out, text + run_start, i - run_start);
		append(out, escape, 2);
		run_start = i + 1;
	}
	append(out, text + run_start, length - run_start);
}

static void
emit_row(JsonStream *s, StringInfo out)
{
	if (s->recording)
	{
		s->recording = false;
		if (s->raw_column >= 0)
		{
			resetStringInfo(&s->slots[s->raw_column]);
			append_copy_text(&s->slots[s->raw_column], s->raw.data, s->raw.len);
			s->filled[s->raw_column] = true;
		}
		if (s->raw_sink)
		{
			append(s->raw_sink, s->raw.data, s->raw.len);
			append_char(s->raw_sink, '\n');
			*s->raw_ends = lappend_int(*s->raw_ends, s->raw_sink->len);
		}
	}
	for (int i = 0; i < s->ncolumns; i++)
	{
		if (i > 0)
			append_char(out, '\t');
		if (s->filled[i])
			append(out, s->slots[i].data, s->slots[i].len);
		else
			append(out, "\\N", 2);
	}
	append_char(out, '\n');
	s->records++;
}

/* A member of the record that no column reads: remembered, with what its value looks like. */
static void
note_field(JsonStream *s, bool container)
{
	StringInfo	key = &s->frames[s->depth - 1].key;
	ListCell   *lc;
	FieldSeen  *field = NULL;

	foreach(lc, s->unknown)
	{
		FieldSeen  *f = lfirst(lc);

		if (strlen(f->name) == key->len && memcmp(f->name, key->data, key->len) == 0)
		{
			field = f;
			break;
		}
	}
	if (field == NULL)
	{
		field = palloc0(sizeof(FieldSeen));
		field->name = pnstrdup(key->data, key->len);
		s->unknown = lappend(s->unknown, field);
	}
	if (container)
		field->kinds |= FIELD_CONTAINER;
	else
		s->field = field;		/* the token's end says what it is */
}

static bool
digits(const char *t, int n)
{
	for (int i = 0; i < n; i++)
		if (t[i] < '0' || t[i] > '9')
			return false;
	return true;
}

/* What kind of string: a date (YYYY-MM-DD), a timestamp (a date, T or space, hh:mm...) or text. */
static int
string_kind(const char *t, int len)
{
	if (len < 10 || !digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
		!digits(t + 8, 2))
		return FIELD_TEXT;
	if (len == 10)
		return FIELD_DATE;
	if ((t[10] == 'T' || t[10] == ' ') && len >= 16 && digits(t + 11, 2) && t[13] == ':' &&
		digits(t + 14, 2))
	{
		/* The rest: seconds, fraction, zone: only those characters. */
		for (int i = 16; i < len; i++)
			if (!strchr("0123456789:.+-Z", t[i]))
				return FIELD_TEXT;
		return FIELD_TIMESTAMP;
	}
	return FIELD_TEXT;
}

static int
token_kind(Token token, const char *text, int len)
{
	if (token == TOKEN_LITERAL)
		return text[0] == 'n' ? FIELD_NULL : FIELD_BOOLEAN;
	if (token == TOKEN_STRING)
		return string_kind(text, len);
	/* Integers of up to 18 digits surely fit a bigint. */
	if (strpbrk(text, ".eE") == NULL && len - (text[0] == '-') <= 18)
		return FIELD_INTEGER;
	return FIELD_DECIMAL;
}

/*
 * The n-th column from where the last one was found: records usually list their members in one
 * order, so the first one tried is usually the one.
 */
static inline int
column_after(JsonStream *s, int n)
{
	int			i = s->next_column + n;

	while (i >= s->ncolumns)
		i -= s->ncolumns;
	return i;
}

/*
 * A value starts at the current path, its first byte being c: decides what it is for.  Returns
 * the column (or TARGET_PAGE) a scalar goes to, and gives a container its role.
 */
static int
value_starts(JsonStream *s, char c, Role *role)
{
	bool		container = c == '{' || c == '[';

	*role = ROLE_PLAIN;
	if (s->capture_depth > 0)
		return TARGET_NONE;
	if (s->record_depth >= 0)
	{
		for (int n = 0; n < s->ncolumns; n++)
		{
			int			i = column_after(s, n);

			if (at_path(s, s->record_depth, s->columns[i]->path))
			{
				s->next_column = i + 1;
				return i;
			}
		}
		if (s->track_fields && s->depth == s->record_depth + 1)
			note_field(s, container);
		return TARGET_NONE;
	}
	if (s->sequence && s->depth == 0)
	{
		s->found_records = true;
		if (c != '{')
			ereport(ERROR,
					(errcode(ERRCODE_SQL_JSON_OBJECT_NOT_FOUND),
					 errmsg("%s: record " INT64_FORMAT " of %s is not a JSON object", s->who,
							s->records + 1, s->what)));
		*role = ROLE_RECORD;
		return TARGET_NONE;
	}
	if (!s->found_records && at_path(s, 0, s->records_path))
	{
		s->found_records = true;
		if (c == '[')
			*role = ROLE_RECORDS;
		else if (c == '{')
			*role = ROLE_RECORD;
		else
			ereport(ERROR,
					(errcode(ERRCODE_SQL_JSON_ARRAY_NOT_FOUND),
					 errmsg("%s: records path \"%s\" in %s holds neither an array nor an object",
							s->who, s->records_path->text, s->what)));
		return TARGET_NONE;
	}
	if (s->depth > 0 && s->frames[s->depth - 1].role == ROLE_RECORDS)
	{
		if (c != '{')
			ereport(ERROR,
					(errcode(ERRCODE_SQL_JSON_OBJECT_NOT_FOUND),
					 errmsg("%s: record %zu of %s is not a JSON object", s->who,
							s->frames[s->depth - 1].index + 1, s->what)));
		*role = ROLE_RECORD;
		return TARGET_NONE;
	}
	if (!container && s->page_path && at_path(s, 0, s->page_path))
		return TARGET_PAGE;
	return TARGET_NONE;
}

/* The value that just ended was the last thing in its container, or the whole body. */
static void
value_ends(JsonStream *s)
{
	if (s->depth == 0)
	{
		if (s->sequence)
			s->expect = EXPECT_VALUE;
		else
			s->done = true;
	}
	else
		s->expect = EXPECT_COMMA_OR_END;
}

/*
 * Text kept raw (a record, or a container for a column) is copied a span at a time: what this
 * piece holds of it up to end joins what earlier pieces held.
 */
static void
keep_spans(JsonStream *s, const char *data, size_t end)
{
	if (s->recording)
	{
		append(&s->raw, data + s->raw_from, end - s->raw_from);
		s->raw_from = end;
	}
	if (s->capture_depth > 0)
	{
		append(&s->capture, data + s->capture_from, end - s->capture_from);
		s->capture_from = end;
	}
}

/* data[at] opens an object or array. */
static void
open_container(JsonStream *s, const char *data, size_t at)
{
	char		c = data[at];
	Role		role;
	int			target = value_starts(s, c, &role);
	Frame	   *f;

	if (s->depth >= MAX_DEPTH)
		syntax_error(s, "nesting deeper than 1000 levels");
	if (s->depth == s->allocated)
	{
		s->frames = repalloc(s->frames, sizeof(Frame) * s->allocated * 2);
		for (int i = s->allocated; i < s->allocated * 2; i++)
			initStringInfo(&s->frames[i].key);
		s->allocated *= 2;
	}
	f = &s->frames[s->depth++];
	f->is_object = c == '{';
	f->role = role;
	f->index = 0;
	resetStringInfo(&f->key);
	s->expect = f->is_object ? EXPECT_KEY_OR_END : EXPECT_VALUE_OR_END;

	if (role == ROLE_RECORD)
	{
		s->record_depth = s->depth - 1;
		memset(s->filled, 0, sizeof(bool) * s->ncolumns);
		if (s->raw_column >= 0 || s->raw_sink)
		{
			s->recording = true;
			resetStringInfo(&s->raw);
			s->raw_from = at;
		}
	}
	if (target >= 0)
	{
		/* An object or array for a column: kept as its raw text. */
		s->capture_depth = s->depth;
		s->capture_column = target;
		resetStringInfo(&s->capture);
		s->capture_from = at;
	}
}

/* data[at] closes an object or array. */
static void
close_container(JsonStream *s, const char *data, size_t at, StringInfo out)
{
	char		c = data[at];
	Frame	   *f = &s->frames[s->depth - 1];

	if (f->is_object != (c == '}'))
		syntax_error(s, psprintf("unexpected \"%c\"", c));
	keep_spans(s, data, at + 1);
	s->depth--;
	if (s->capture_depth > s->depth)
	{
		int			col = s->capture_column;

		s->capture_depth = 0;
		resetStringInfo(&s->slots[col]);
		append_copy_text(&s->slots[col], s->capture.data, s->capture.len);
		s->filled[col] = true;
	}
	if (f->role == ROLE_RECORD)
	{
		emit_row(s, out);
		s->record_depth = -1;
	}
	value_ends(s);
}

/* Where the JSON number that starts at t ends (before end), or NULL if none starts there. */
static const char *
json_number_end(const char *t, const char *end)
{
#define DIGIT_AT(p) ((p) < end && *(p) >= '0' && *(p) <= '9')
	if (t < end && *t == '-')
		t++;
	if (t < end && *t == '0')
		t++;
	else if (DIGIT_AT(t))
		while (DIGIT_AT(t))
			t++;
	else
		return NULL;
	if (t < end && *t == '.')
	{
		t++;
		if (!DIGIT_AT(t))
			return NULL;
		while (DIGIT_AT(t))
			t++;
	}
	if (t < end && (*t == 'e' || *t == 'E'))
	{
		t++;
		if (t < end && (*t == '+' || *t == '-'))
			t++;
		if (!DIGIT_AT(t))
			return NULL;
		while (DIGIT_AT(t))
			t++;
	}
#undef DIGIT_AT
	return t;
}

/*
 * A string, number or literal has ended: it was a member name or a value for its target.  A
 * string is already in its sink; a number or literal is in text.
 */
static void
token_ends(JsonStream *s)
{
	Token		token = s->token;
	const char *text = s->text.data;
	bool		is_null = false;

	s->token = TOKEN_NONE;
	if (s->token_is_key)
	{
		s->expect = EXPECT_COLON;
		return;
	}
	if (token == TOKEN_LITERAL)
	{
		if (strcmp(text, "null") == 0)
			is_null = true;
		else if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			syntax_error(s, psprintf("invalid literal \"%s\"", text));
	}
	else if (token == TOKEN_NUMBER && json_number_end(text, text + s->text.len) != text + s->text.len)
		syntax_error(s, psprintf("invalid number \"%s\"", text));
	if (s->field)
	{
		s->field->kinds |= token_kind(token, text, s->text.len);
		s->field = NULL;
	}

	if (s->target >= 0)
	{
		StringInfo	slot = &s->slots[s->target];

		if (is_null)
			append(slot, "\\N", 2);
		else if (token != TOKEN_STRING)
			append(slot, text, s->text.len);
		s->filled[s->target] = true;
	}
	else if (s->target == TARGET_PAGE)
		s->page_value = is_null ? NULL : pstrdup(text);
	value_ends(s);
}

/* A character a string's escape stands for, in the string's sink. */
static void
append_unescaped(JsonStream *s, const char *text, int length)
{
	if (s->sink == NULL)
		return;
	if (s->sink_is_copy)
		append_copy_text(s->sink, text, length);
	else
		append(s->sink, text, length);
}

static void
append_code_point(JsonStream *s, pg_wchar code)
{
	unsigned char utf8[8];

	if (code == 0)
		syntax_error(s, "\\u0000 cannot be stored in text");
	unicode_to_utf8(code, utf8);
	append_unescaped(s, (char *) utf8, pg_utf_mblen(utf8));
}

/* One byte inside a string that is not one of a run of plain characters. */
static void
string_byte(JsonStream *s, char c)
{
	if (s->escape == 0)
	{
		if (s->high_surrogate && c != '\\')
			syntax_error(s, "a lone UTF-16 surrogate in a \\u escape");
		if (c == '"')
			token_ends(s);
		else if (c == '\\')
			s->escape = 1;
		else if ((unsigned char) c < 0x20)
			syntax_error(s, "a control character inside a string");
		else
			append_unescaped(s, &c, 1);
		return;
	}
	if (s->escape == 1)
	{
		char		plain;

		s->escape = 0;
		if (s->high_surrogate && c != 'u')
			syntax_error(s, "a lone UTF-16 surrogate in a \\u escape");
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
				plain = c;
				break;
			case 'b':
				plain = '\b';
				break;
			case 'f':
				plain = '\f';
				break;
			case 'n':
				plain = '\n';
				break;
			case 'r':
				plain = '\r';
				break;
			case 't':
				plain = '\t';
				break;
			case 'u':
				s->escape = 2;
				s->code = 0;
				return;
			default:
				syntax_error(s, psprintf("invalid escape \"\\%c\"", c));
		}
		append_unescaped(s, &plain, 1);
		return;
	}
	/* \uXXXX: escape counts 2 to 5 over the four hex digits */
	if (c >= '0' && c <= '9')
		s->code = (s->code << 4) | (c - '0');
	else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		s->code = (s->code << 4) | ((c | 0x20) - 'a' + 10);
	else
		syntax_error(s, "invalid \\u escape");
	if (++s->escape < 6)
		return;
	s->escape = 0;
	if (s->code >= 0xD800 && s->code <= 0xDBFF && !s->high_surrogate)
		s->high_surrogate = s->code;
	else if (s->code >= 0xDC00 && s->code <= 0xDFFF && s->high_surrogate)
	{
		append_code_point(s, 0x10000 + ((s->high_surrogate - 0xD800) << 10) + (s->code - 0xDC00));
		s->high_surrogate = 0;
	}
	else if ((s->code >= 0xD800 && s->code <= 0xDFFF) || s->high_surrogate)
		syntax_error(s, "a lone UTF-16 surrogate in a \\u escape");
	else
		append_code_point(s, s->code);
}

/*
 * A token starts with first: says where its characters go.  A member name goes to its frame's
 * key, a string for a column straight to the column's slot, and text nobody reads nowhere.
 */
static void
start_token(JsonStream *s, Token token, bool is_key, char first)
{
	Role		role;

	s->token = token;
	s->token_is_key = is_key;
	s->target = is_key ? TARGET_NONE : value_starts(s, first, &role);
	s->escape = 0;
	s->high_surrogate = 0;
	s->sink_is_copy = false;
	if (is_key)
		s->sink = &s->frames[s->depth - 1].key;
	else if (s->target >= 0)
	{
		s->sink = &s->slots[s->target];
		s->sink_is_copy = token == TOKEN_STRING;
	}
	else if (s->target == TARGET_PAGE || s->field || token != TOKEN_STRING)
		s->sink = &s->text;
	else
		s->sink = NULL;
	if (s->sink)
		resetStringInfo(s->sink);
	resetStringInfo(&s->text);
	if (token != TOKEN_STRING)
		append_char(&s->text, first);
}

/* JSON's whitespace. */
static inline bool
is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* A character that continues a number or a literal. */
static inline bool
is_token_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
		c == '.' || c == 'E';
}

/* The feed stops at this piece's byte end: the text kept raw so far is saved, and end returned. */
static size_t
piece_read(JsonStream *s, const char *data, size_t end)
{
	keep_spans(s, data, end);
	s->offset += end;
	s->pos = 0;
	return end;
}

/* The column read at the record's member named key, or -1. */
static int
member_column(JsonStream *s, const char *key, int key_length)
{
	for (int n = 0; n < s->ncolumns; n++)
	{
		int			i = column_after(s, n);
		const JsonPathStep *step = s->member_steps[i];

		if (step && step->key_length == key_length && memcmp(step->key, key, key_length) == 0)
		{
			s->next_column = i + 1;
			return i;
		}
	}
	return -1;
}

/*
 * The common member of a record, read in one go: "name": scalar, the whole of it in this piece,
 * without escapes.  data[at] is the name's opening quote.  Returns where the scalar ends, or 0 to
 * leave the member to the general parser (which also reports what is wrong with it).
 */
static size_t
plain_member(JsonStream *s, const char *data, size_t at, size_t length)
{
	const char *end = data + length;
	const char *key = data + at + 1;
	const char *p = key;
	const char *value;
	int			key_length;
	int			column;

	p = plain_run_end(p, end);
	if (p == end || *p != '"')
		return 0;
	key_length = p - key;
	for (p++; p < end && is_space(*p); p++)
		;
	if (p == end || *p != ':')
		return 0;
	for (p++; p < end && is_space(*p); p++)
		;
	value = p;
	if (p < end && *p == '"')
	{
		p = plain_run_end(p + 1, end);
		if (p == end || *p != '"')
			return 0;
		p++;
	}
	else if (p < end && (*p == 't' || *p == 'f' || *p == 'n'))
	{
		const char *literal = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
		int			literal_length = strlen(literal);

		if (end - p <= literal_length || memcmp(p, literal, literal_length) != 0)
			return 0;
		p += literal_length;
	}
	else
		p = json_number_end(p, end);
	/* Not a scalar, not a valid one, or one that may go on in the next piece. */
	if (p == NULL || p == end || is_token_char(*p))
		return 0;

	column = member_column(s, key, key_length);
	if (column < 0)
	{
		if (s->track_fields)
			return 0;			/* the general parser notes the member */
	}
	else
	{
		StringInfo	slot = &s->slots[column];

		resetStringInfo(slot);
		if (*value == '"')
			append(slot, value + 1, p - value - 2);		/* no escapes: COPY text as it is */
		else if (*value == 'n')
			append(slot, "\\N", 2);
		else
			append(slot, value, p - value);
		s->filled[column] = true;
	}
	s->expect = EXPECT_COMMA_OR_END;
	return p - data;
}

size_t
json_stream_feed(JsonStream *s, const char *data, size_t length, StringInfo out, int64 max_records)
{
	s->stop_at = max_records > 0 ? s->records + max_records : 0;
	s->raw_from = 0;
	s->capture_from = 0;
	for (size_t i = 0; i < length; i++)
	{
		char		c = data[i];
		bool		in_record;
		size_t		next;

		if (s->token == TOKEN_STRING)
		{
			/* Plain characters, the bulk of any string, are copied a run at a time. */
			if (s->escape == 0 && s->high_surrogate == 0 && !ends_plain_run(c))
			{
				size_t		end = plain_run_end(data + i + 1, data + length) - data;

				if (s->sink)
					append(s->sink, data + i, end - i);
				i = end - 1;
				continue;
			}
			s->pos = i + 1;
			string_byte(s, c);
			continue;
		}
		if (s->token != TOKEN_NONE)
		{
			if (is_token_char(c))
			{
				size_t		end = i + 1;

				while (end < length && is_token_char(data[end]))
					end++;
				append(&s->text, data + i, end - i);
				i = end - 1;
				continue;
			}
			s->pos = i + 1;
			token_ends(s);		/* and c is read below */
		}

		if (is_space(c))
			continue;
		s->pos = i + 1;		/* for errors: set where they can arise, not for every byte */
		if (s->done)
			syntax_error(s, "more data after the JSON value");
		/* Directly in a record, not inside a value kept raw: members may take the fast path. */
		in_record = s->record_depth == s->depth - 1 && s->capture_depth == 0;

		switch (s->expect)
		{
			case EXPECT_KEY_OR_END:
			case EXPECT_VALUE_OR_END:
				if (c == '}' || c == ']')
				{
					close_container(s, data, i, out);
					if (s->stop_at > 0 && s->records == s->stop_at)
						return piece_read(s, data, i + 1);
					continue;
				}
				if (s->expect == EXPECT_KEY_OR_END)
				{
					if (c != '"')
						syntax_error(s, "expected a member name");
					if (in_record && (next = plain_member(s, data, i, length)) > 0)
					{
						i = next - 1;
						continue;
					}
					start_token(s, TOKEN_STRING, true, c);
					continue;
				}
				/* FALLTHROUGH */
			case EXPECT_VALUE:
				if (c == '{' || c == '[')
					open_container(s, data, i);
				else if (c == '"')
					start_token(s, TOKEN_STRING, false, c);
				else if (c == '-' || (c >= '0' && c <= '9'))
					start_token(s, TOKEN_NUMBER, false, c);
				else if (c == 't' || c == 'f' || c == 'n')
					start_token(s, TOKEN_LITERAL, false, c);
				else
					syntax_error(s, psprintf("unexpected \"%c\"", c));
				break;
			case EXPECT_KEY:
				if (c != '"')
					syntax_error(s, "expected a member name");
				if (in_record && (next = plain_member(s, data, i, length)) > 0)
				{
					i = next - 1;
					break;
				}
				start_token(s, TOKEN_STRING, true, c);
				break;
			case EXPECT_COLON:
				if (c != ':')
					syntax_error(s, "expected \":\"");
				s->expect = EXPECT_VALUE;
				break;
			case EXPECT_COMMA_OR_END:
				if (c == ',')
				{
					Frame	   *f = &s->frames[s->depth - 1];

					f->index++;
					s->expect = f->is_object ? EXPECT_KEY : EXPECT_VALUE;
				}
				else if (c == '}' || c == ']')
				{
					close_container(s, data, i, out);
					if (s->stop_at > 0 && s->records == s->stop_at)
						return piece_read(s, data, i + 1);
				}
				else
					syntax_error(s, psprintf("expected \",\" or a closing bracket, not \"%c\"", c));
				break;
		}
	}
	return piece_read(s, data, length);
}

void
json_stream_end(JsonStream *s)
{
	if (s->token == TOKEN_NUMBER || s->token == TOKEN_LITERAL)
		token_ends(s);
	if (s->sequence)
	{
		if (s->depth > 0 || s->token != TOKEN_NONE)
			syntax_error(s, "unexpected end of input");
		return;
	}
	if (!s->done)
		syntax_error(s, s->offset == 0 ? "empty body" : "unexpected end of input");
	if (!s->found_records)
		ereport(ERROR,
				(errcode(ERRCODE_SQL_JSON_MEMBER_NOT_FOUND),
				 errmsg("%s: records path \"%s\" not found in %s",
						s->who, s->records_path->text, s->what),
				 errhint("Set \"records_path\" in the source's config to where the records are, e.g. \"$.data\".")));
}
