/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Windows layer import builders (internal/image/wintar.h,
 * winlayer.h), run natively. Expected bytes are written out from the
 * documented Win32 layouts (winbase.h WIN32_STREAM_ID, winnt.h
 * REPARSE_DATA_BUFFER, ntifs.h FILE_FULL_EA_INFORMATION), RFC 4648 and the
 * ustar/pax format, never produced by the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "image/winlayer.h"
#include "image/wintar.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static void assert_error(cf_err *err, enum cf_code code, const char *part)
{
  assert_non_null(err);
  if (strstr(err->message, part) == NULL) {
    fail_msg("message \"%s\" does not contain \"%s\"", err->message, part);
  }
  assert_int_equal(err->code, code);
}

static void assert_bytes(const void *actual, size_t actual_len, const void *expected,
                         size_t expected_len)
{
  assert_int_equal(actual_len, expected_len);
  assert_memory_equal(actual, expected, expected_len);
}

/* --- Tar building (test input) --- */

/* Appends a ustar header with a valid checksum. */
static void tar_header(cf_buf *out, const char *name, char type, uint64_t size,
                       const char *linkname)
{
  unsigned char h[512] = {0};
  memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
  memcpy(h + 100, "0000644", 7);
  memcpy(h + 108, "0000000", 7);
  memcpy(h + 116, "0000000", 7);
  char number[32];
  snprintf(number, sizeof(number), "%011llo", (unsigned long long)size);
  memcpy(h + 124, number, 11);
  snprintf(number, sizeof(number), "%011o", 1600000000u);
  memcpy(h + 136, number, 11);
  h[156] = (unsigned char)type;
  if (linkname != NULL) {
    memcpy(h + 157, linkname, strlen(linkname));
  }
  memcpy(h + 257,
         "ustar\0"
         "00",
         8);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; i++) {
    sum += h[i];
  }
  snprintf((char *)h + 148, 8, "%06o", sum);
  cf_buf_append(out, h, 512, NULL);
}

static void tar_data(cf_buf *out, const void *data, size_t len)
{
  static const char zero[512];
  cf_buf_append(out, data, len, NULL);
  cf_buf_append(out, zero, (512 - len % 512) % 512, NULL);
}

static void tar_file(cf_buf *out, const char *name, const char *data)
{
  tar_header(out, name, '0', strlen(data), NULL);
  tar_data(out, data, strlen(data));
}

static void tar_pax(cf_buf *out, char type, const char *records)
{
  tar_header(out, "PaxHeaders/x", type, strlen(records), NULL);
  tar_data(out, records, strlen(records));
}

static void tar_end(cf_buf *out)
{
  static const char zero[1024];
  cf_buf_append(out, zero, sizeof(zero), NULL);
}

typedef struct mem_reader {
  const char *data;
  size_t len;
  size_t pos;
  size_t step; /* bytes per read call, to test short reads */
} mem_reader;

static int mem_read(void *context, void *buf, size_t len, size_t *got, cf_err **err)
{
  mem_reader *reader = context;
  size_t left = reader->len - reader->pos;
  size_t n = len < left ? len : left;
  if (n > reader->step) {
    n = reader->step;
  }
  memcpy(buf, reader->data + reader->pos, n);
  reader->pos += n;
  *got = n;
  (void)err;
  return 0;
}

/* --- PAX values --- */

static void attributes_parse(void **state)
{
  uint32_t value = 0;
  assert_int_equal(cf_win_parse_attributes("32", &value, NULL), 0);
  assert_int_equal(value, 32);
  assert_int_equal(cf_win_parse_attributes("4294967295", &value, NULL), 0);
  assert_int_equal(value, 0xffffffffu);
  static const char *const bad[] = {"", "-1", "0x10", "4294967296", "1 ", "99999999999999999999"};
  for (size_t i = 0; i < COUNT(bad); i++) {
    cf_err *err = NULL;
    assert_int_equal(cf_win_parse_attributes(bad[i], &value, &err), -1);
    assert_error(err, CF_E_INVALID, "MSWINDOWS.fileattr");
    cf_err_free(err);
  }
}

static void base64_valid(void **state)
{
  static const struct {
    const char *text;
    const char *bytes;
    size_t len;
  } cases[] = {
      /* RFC 4648 section 10 test vectors. */
      {"", "", 0},
      {"Zg==", "f", 1},
      {"Zm8=", "fo", 2},
      {"Zm9v", "foo", 3},
      {"Zm9vYg==", "foob", 4},
      {"Zm9vYmFy", "foobar", 6},
      {"AQID", "\x01\x02\x03", 3},
      {"//+/", "\xff\xff\xbf", 3},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(
        cf_win_base64_decode(cases[i].text, strlen(cases[i].text), 64, &out, &len, NULL), 0);
    assert_bytes(out, len, cases[i].bytes, cases[i].len);
    free(out);
  }
}

static void base64_strict(void **state)
{
  static const char *const bad[] = {
      "Zg=",      /* length not a multiple of 4 */
      "Z===",     /* too much padding */
      "Zg=a",     /* data after padding */
      "Zh==",     /* non-zero unused bits: 'h' leaves bits set */
      "Zm9=Zm9v", /* padding in the middle */
      "Zm 9",     /* whitespace */
      "Zm9\n",    /* newline */
      "Zm-_",     /* URL alphabet */
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    uint8_t *out = NULL;
    size_t len = 0;
    cf_err *err = NULL;
    assert_int_equal(cf_win_base64_decode(bad[i], strlen(bad[i]), 64, &out, &len, &err), -1);
    assert_error(err, CF_E_INVALID, "base64");
    cf_err_free(err);
  }
}

static void base64_limit(void **state)
{
  uint8_t *out = NULL;
  size_t len = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_win_base64_decode("Zm9vYmFy", 8, 5, &out, &len, &err), -1);
  assert_error(err, CF_E_LIMIT, "more than 5 bytes");
  cf_err_free(err);
}

static void pax_time_values(void **state)
{
  static const struct {
    const char *text;
    int64_t filetime;
  } cases[] = {
      /* 1970-01-01 is 116444736000000000 100 ns intervals after 1601-01-01. */
      {"0", 116444736000000000ll},
      {"1.5", 116444736015000000ll},
      {"1600000000.123456789", 132444736001234567ll},
      {"1600000000.1234567891", 132444736001234567ll}, /* digits after the ninth dropped */
      {"1600000000.00000001", 132444736000000000ll},   /* 10 ns truncates to 0 ticks */
      {"-1.5", 116444735985000000ll},
      {"-11644473600", 0},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    int64_t filetime = -1;
    assert_int_equal(cf_win_pax_time(cases[i].text, &filetime, NULL), 0);
    assert_true(filetime == cases[i].filetime);
  }
}

static void pax_time_invalid(void **state)
{
  static const char *const bad[] = {"",   "1.",  "abc",          "1.2x", "+1",
                                    ".5", "1e3", "-11644473601", "-",    "99999999999999999999"};
  for (size_t i = 0; i < COUNT(bad); i++) {
    int64_t filetime = 0;
    cf_err *err = NULL;
    assert_int_equal(cf_win_pax_time(bad[i], &filetime, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, CF_E_INVALID);
    cf_err_free(err);
  }
}

static void utf16le_encoding(void **state)
{
  cf_buf out;
  cf_buf_init(&out, 1024);
  /* "a", U+00E9, U+1F600 (surrogate pair D83D DE00). */
  assert_int_equal(cf_win_utf16le("a\xc3\xa9\xf0\x9f\x98\x80", 7, &out, NULL), 0);
  assert_bytes(out.data, out.len, "a\0\xe9\0\x3d\xd8\x00\xde", 8);
  static const char *const bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80",
                                    "\xe2\x82"};
  for (size_t i = 0; i < COUNT(bad); i++) {
    cf_err *err = NULL;
    assert_int_equal(cf_win_utf16le(bad[i], strlen(bad[i]), &out, &err), -1);
    assert_error(err, CF_E_INVALID, "not valid UTF-8");
    cf_err_free(err);
  }
  cf_buf_free(&out);
}

/* --- Win32 layouts --- */

static void backup_header_data(void **state)
{
  /* WIN32_STREAM_ID: dwStreamId=BACKUP_DATA(1), dwStreamAttributes=0,
   * Size=5 (8 bytes), dwStreamNameSize=0. */
  static const unsigned char expected[] = {1, 0, 0, 0, 0, 0, 0, 0, 5, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  cf_buf out;
  cf_buf_init(&out, 1024);
  assert_int_equal(cf_win_backup_header(&out, CF_WIN_BACKUP_DATA, 5, NULL, NULL), 0);
  assert_bytes(out.data, out.len, expected, sizeof(expected));
  cf_buf_free(&out);
}

static void backup_header_stream_name(void **state)
{
  /* BACKUP_ALTERNATE_DATA(4), size 0x100000003, name ":s:$DATA" (8 UTF-16
   * units, 16 bytes, no terminator). */
  static const unsigned char expected[] = {4,   0, 0,   0, 0,   0, 0,   0, 3,   0, 0,   0,
                                           1,   0, 0,   0, 16,  0, 0,   0, ':', 0, 's', 0,
                                           ':', 0, '$', 0, 'D', 0, 'A', 0, 'T', 0, 'A', 0};
  cf_buf out;
  cf_buf_init(&out, 1024);
  assert_int_equal(
      cf_win_backup_header(&out, CF_WIN_BACKUP_ALTERNATE_DATA, 0x100000003ull, ":s:$DATA", NULL),
      0);
  assert_bytes(out.data, out.len, expected, sizeof(expected));
  cf_buf_free(&out);
}

static void ea_buffer_two_entries(void **state)
{
  /* FILE_FULL_EA_INFORMATION: NextEntryOffset(4) Flags(1) EaNameLength(1)
   * EaValueLength(2) EaName+NUL value, each entry 4-byte aligned. */
  static const unsigned char expected[] = {
      12, 0, 0, 0, 0, 1, 1, 0, 'A', 0,   0x7f, 0, /* "A" = {0x7f}, 11 bytes + 1 pad */
      0,  0, 0, 0, 0, 2, 0, 0, 'B', 'C', 0,    0, /* "BC" = {}, last, 11 + 1 pad */
  };
  static const uint8_t value[] = {0x7f};
  cf_win_ea eas[] = {{"A", value, 1}, {"BC", NULL, 0}};
  cf_buf out;
  cf_buf_init(&out, 1024);
  assert_int_equal(cf_win_ea_buffer(eas, 2, &out, NULL), 0);
  assert_bytes(out.data, out.len, expected, sizeof(expected));
  cf_buf_free(&out);
}

static void ea_buffer_limits(void **state)
{
  char name[257];
  memset(name, 'n', 256);
  name[256] = '\0';
  cf_win_ea long_name = {name, NULL, 0};
  cf_win_ea empty_name = {"", NULL, 0};
  cf_win_ea big_value = {"v", (const uint8_t *)"", 65536};
  cf_win_ea *bad[] = {&long_name, &empty_name, &big_value};
  cf_buf out;
  cf_buf_init(&out, 1024);
  for (size_t i = 0; i < COUNT(bad); i++) {
    cf_err *err = NULL;
    assert_int_equal(cf_win_ea_buffer(bad[i], 1, &out, &err), -1);
    assert_error(err, CF_E_INVALID, "extended attribute");
    cf_err_free(err);
  }
  cf_buf_free(&out);
}

static void reparse_relative_symlink(void **state)
{
  /* REPARSE_DATA_BUFFER, SymbolicLinkReparseBuffer: tag 0xA000000C,
   * ReparseDataLength 28 (8 name fields + 4 Flags + 2 * (6 + 2)),
   * substitute name at 0 (6 bytes), print name at 8 (6 bytes),
   * Flags SYMLINK_FLAG_RELATIVE, then "a\b" NUL "a\b" NUL. */
  static const unsigned char expected[] = {
      0x0c, 0x00, 0x00, 0xa0, 28,   0, 0,   0, 0, 0, 6,   0, 8,    0, 6,   0, 1, 0,
      0,    0,    'a',  0,    '\\', 0, 'b', 0, 0, 0, 'a', 0, '\\', 0, 'b', 0, 0, 0};
  cf_buf out;
  cf_buf_init(&out, CF_WIN_REPARSE_MAX);
  assert_int_equal(cf_win_reparse_buffer("a\\b", false, &out, NULL), 0);
  assert_bytes(out.data, out.len, expected, sizeof(expected));
  cf_buf_free(&out);
}

static void reparse_absolute_symlink(void **state)
{
  /* Absolute target "C:\x": substitute "\??\C:\x" (16 bytes), print "C:\x"
   * (8 bytes) at 18, Flags 0; ReparseDataLength 8 + 4 + 18 + 10 = 40. */
  static const unsigned char expected[] = {
      0x0c, 0x00, 0x00, 0xa0, 40,   0, 0,   0, 0,   0, 16,   0, 18,  0, 8,   0,
      0,    0,    0,    0,    '\\', 0, '?', 0, '?', 0, '\\', 0, 'C', 0, ':', 0,
      '\\', 0,    'x',  0,    0,    0, 'C', 0, ':', 0, '\\', 0, 'x', 0, 0,   0};
  cf_buf out;
  cf_buf_init(&out, CF_WIN_REPARSE_MAX);
  assert_int_equal(cf_win_reparse_buffer("C:\\x", false, &out, NULL), 0);
  assert_bytes(out.data, out.len, expected, sizeof(expected));
  cf_buf_free(&out);
}

static void reparse_junction(void **state)
{
  /* MountPointReparseBuffer: tag 0xA0000003, no Flags field,
   * ReparseDataLength 8 + 18 + 10 = 36. */
  static const unsigned char expected[] = {0x03, 0x00, 0x00, 0xa0, 36,   0, 0,   0, 0,   0, 16,   0,
                                           18,   0,    8,    0,    '\\', 0, '?', 0, '?', 0, '\\', 0,
                                           'C',  0,    ':',  0,    '\\', 0, 'x', 0, 0,   0, 'C',  0,
                                           ':',  0,    '\\', 0,    'x',  0, 0,   0};
  cf_buf out;
  cf_buf_init(&out, CF_WIN_REPARSE_MAX);
  assert_int_equal(cf_win_reparse_buffer("C:\\x", true, &out, NULL), 0);
  assert_bytes(out.data, out.len, expected, sizeof(expected));
  cf_buf_free(&out);
}

static void reparse_nt_prefixes(void **state)
{
  /* \\server\share becomes \??\UNC\server\share; \\?\X: becomes \??\X:. */
  cf_buf out;
  cf_buf_init(&out, CF_WIN_REPARSE_MAX);
  assert_int_equal(cf_win_reparse_buffer("\\\\h\\s", false, &out, NULL), 0);
  /* substitute "\??\UNC\h\s" is 11 units = 22 bytes */
  assert_int_equal((unsigned char)out.data[10], 22);
  assert_memory_equal(out.data + 20, "\\\0?\0?\0\\\0U\0N\0C\0\\\0h\0\\\0s\0", 22);
  cf_buf_reset(&out);
  assert_int_equal(cf_win_reparse_buffer("\\\\?\\D:\\y", false, &out, NULL), 0);
  assert_int_equal((unsigned char)out.data[10], 16); /* "\??\D:\y" */
  assert_int_equal(out.data[16], 0);                 /* absolute: Flags 0 */
  cf_buf_free(&out);
}

static void reparse_invalid(void **state)
{
  cf_buf out;
  cf_buf_init(&out, CF_WIN_REPARSE_MAX);
  cf_err *err = NULL;
  assert_int_equal(cf_win_reparse_buffer("rel\\dir", true, &out, &err), -1);
  assert_error(err, CF_E_INVALID, "junction target");
  cf_err_clear(&err);
  assert_int_equal(cf_win_reparse_buffer("", false, &out, &err), -1);
  assert_error(err, CF_E_INVALID, "empty");
  cf_err_clear(&err);
  char *long_target = cf_xcalloc(8200, 1);
  memset(long_target, 'a', 8199);
  assert_int_equal(cf_win_reparse_buffer(long_target, false, &out, &err), -1);
  assert_error(err, CF_E_LIMIT, "reparse buffer");
  cf_err_free(err);
  free(long_target);
  cf_buf_free(&out);
}

/* --- Small values --- */

static void bcd_backup_names(void **state)
{
  assert_string_equal(cf_win_bcd_backup_name("UtilityVM/Files/EFI/Microsoft/Boot/BCD"), "bcd.bak");
  assert_string_equal(cf_win_bcd_backup_name("UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG"),
                      "bcd.log.bak");
  assert_string_equal(cf_win_bcd_backup_name("UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG1"),
                      "bcd.log1.bak");
  assert_string_equal(cf_win_bcd_backup_name("UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG2"),
                      "bcd.log2.bak");
  assert_null(cf_win_bcd_backup_name("Files/EFI/Microsoft/Boot/BCD"));
  assert_null(cf_win_bcd_backup_name("UtilityVM/Files/EFI/Microsoft/Boot/bcd"));
}

static void size_file_values(void **state)
{
  char *text = cf_win_size_format(1234567890123ull);
  assert_string_equal(text, "1234567890123");
  free(text);
  uint64_t size = 0;
  assert_int_equal(cf_win_size_parse("0", 1, &size, NULL), 0);
  assert_true(size == 0);
  assert_int_equal(cf_win_size_parse("9223372036854775807", 19, &size, NULL), 0);
  assert_true(size == 9223372036854775807ull);
  static const char *const bad[] = {"", "012", "12\n", "-1", "9223372036854775808", "1a"};
  for (size_t i = 0; i < COUNT(bad); i++) {
    cf_err *err = NULL;
    assert_int_equal(cf_win_size_parse(bad[i], strlen(bad[i]), &size, &err), -1);
    assert_error(err, CF_E_INVALID, "layer size file");
    cf_err_free(err);
  }
}

static void os_version_string(void **state)
{
  char *version = cf_win_os_version_format(10, 0, 17763, 5458);
  assert_string_equal(version, "10.0.17763.5458");
  free(version);
  version = cf_win_os_version_format(10, 0, 20348, 0);
  assert_string_equal(version, "10.0.20348.0");
  free(version);
}

static void path_set_nocase(void **state)
{
  cf_win_path_set set = {0};
  char name[32];
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof(name), "Files\\Dir\\f%d", i);
    cf_win_path_set_add(&set, name);
  }
  cf_win_path_set_add(&set, "Files\\DIR\\F7"); /* duplicate ignoring case */
  assert_int_equal(set.count, 500);
  assert_true(cf_win_path_set_contains(&set, "files\\dir\\F499"));
  assert_false(cf_win_path_set_contains(&set, "Files\\Dir\\f500"));
  cf_win_path_set_clear(&set);
  assert_false(cf_win_path_set_contains(&set, "Files"));
}

/* --- Tar reader --- */

typedef struct tar_fixture {
  cf_buf bytes;
  mem_reader reader;
  cf_wintar *tar;
} tar_fixture;

static void tar_open(tar_fixture *fixture, size_t step)
{
  fixture->reader = (mem_reader){fixture->bytes.data, fixture->bytes.len, 0, step};
  fixture->tar = cf_wintar_new(mem_read, &fixture->reader);
}

static void tar_close(tar_fixture *fixture)
{
  cf_wintar_free(fixture->tar);
  cf_buf_free(&fixture->bytes);
}

static char *read_all(cf_wintar *tar)
{
  cf_buf out;
  cf_buf_init(&out, SIZE_MAX);
  char chunk[7];
  size_t got = 0;
  do {
    assert_int_equal(cf_wintar_read(tar, chunk, sizeof(chunk), &got, NULL), 0);
    cf_buf_append(&out, chunk, got, NULL);
  } while (got > 0);
  return cf_buf_take(&out);
}

static void tar_pax_records(void **state)
{
  tar_fixture f;
  cf_buf_init(&f.bytes, SIZE_MAX);
  /* Record lengths count themselves: "25 " + "MSWINDOWS.fileattr=32\n". */
  tar_pax(&f.bytes, 'g', "20 comment=global v\n");
  tar_pax(&f.bytes, 'x', "25 MSWINDOWS.fileattr=32\n28 MSWINDOWS.rawsd=AQAEgA==\n");
  tar_file(&f.bytes, "Files/a.txt", "hello");
  tar_file(&f.bytes, "Files/b.txt", "");
  tar_end(&f.bytes);
  tar_open(&f, 100);
  const cf_wintar_entry *entry = NULL;
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 1);
  assert_string_equal(entry->name, "Files/a.txt");
  assert_int_equal(entry->typeflag, '0');
  assert_int_equal(entry->size, 5);
  assert_int_equal(entry->mtime, 1600000000);
  size_t len = 0;
  assert_string_equal(cf_wintar_record_value(entry, "MSWINDOWS.fileattr", &len), "32");
  assert_int_equal(len, 2);
  assert_string_equal(cf_wintar_record_value(entry, "MSWINDOWS.rawsd", NULL), "AQAEgA==");
  assert_string_equal(cf_wintar_record_value(entry, "comment", NULL), "global v");
  char *data = read_all(f.tar);
  assert_string_equal(data, "hello");
  free(data);
  /* The next entry has no 'x' records, only the global one. */
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 1);
  assert_string_equal(entry->name, "Files/b.txt");
  assert_null(cf_wintar_record_value(entry, "MSWINDOWS.fileattr", NULL));
  assert_string_equal(cf_wintar_record_value(entry, "comment", NULL), "global v");
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 0);
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 0);
  tar_close(&f);
}

static void tar_names_and_sizes(void **state)
{
  tar_fixture f;
  cf_buf_init(&f.bytes, SIZE_MAX);
  char long_name[300];
  memset(long_name, 'n', sizeof(long_name) - 1);
  memcpy(long_name, "Files/", 6);
  long_name[sizeof(long_name) - 1] = '\0';
  tar_header(&f.bytes, "././@LongLink", 'L', strlen(long_name) + 1, NULL);
  tar_data(&f.bytes, long_name, strlen(long_name) + 1);
  tar_file(&f.bytes, "short", "x");
  /* PAX path and size win over the header. */
  tar_pax(&f.bytes, 'x', "20 path=Files/p.txt\n9 size=3\n");
  tar_header(&f.bytes, "ignored", '0', 9, NULL);
  tar_data(&f.bytes, "abc", 3);
  tar_header(&f.bytes, "Files/dir", '5', 0, NULL);
  tar_header(&f.bytes, "Files/l", '1', 0, "Files/p.txt");
  tar_end(&f.bytes);
  tar_open(&f, 512);
  const cf_wintar_entry *entry = NULL;
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 1);
  assert_string_equal(entry->name, long_name);
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 1); /* data of the first skipped */
  assert_string_equal(entry->name, "Files/p.txt");
  assert_int_equal(entry->size, 3);
  char *data = read_all(f.tar);
  assert_string_equal(data, "abc");
  free(data);
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 1);
  assert_int_equal(entry->typeflag, '5');
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 1);
  assert_int_equal(entry->typeflag, '1');
  assert_string_equal(entry->linkname, "Files/p.txt");
  assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 0);
  tar_close(&f);
}

/* Runs the reader over bytes and expects an error with code and part. */
static void expect_tar_error(cf_buf *bytes, enum cf_code code, const char *part)
{
  tar_fixture f = {.bytes = *bytes};
  tar_open(&f, 4096);
  const cf_wintar_entry *entry = NULL;
  cf_err *err = NULL;
  int rc = 0;
  do {
    rc = cf_wintar_next(f.tar, &entry, &err);
  } while (rc == 1);
  assert_int_equal(rc, -1);
  assert_error(err, code, part);
  cf_err_free(err);
  tar_close(&f);
}

static void tar_truncated(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_file(&bytes, "Files/a", "data");
  bytes.len = 300; /* inside the first header */
  expect_tar_error(&bytes, CF_E_INVALID, "truncated");
  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Files/a", '0', 2000, NULL);
  tar_data(&bytes, "abc", 3);
  expect_tar_error(&bytes, CF_E_INVALID, "truncated");
}

static void tar_bad_checksum(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_file(&bytes, "Files/a", "data");
  bytes.data[0] = 'G'; /* the header no longer matches its checksum */
  expect_tar_error(&bytes, CF_E_INVALID, "checksum");
}

static void tar_oversize_pax(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "PaxHeaders/x", 'x', CF_WINTAR_PAX_MAX + 1, NULL);
  expect_tar_error(&bytes, CF_E_LIMIT, "PAX header");
  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "././@LongLink", 'L', CF_WINTAR_NAME_MAX + 1, NULL);
  expect_tar_error(&bytes, CF_E_LIMIT, "GNU long name");
}

static void tar_bad_pax_records(void **state)
{
  static const char *const bad[] = {
      "99 a=b\n",       /* length beyond the header */
      "5 a=b\n",        /* length one short: last byte is not a newline */
      "6 ab\n\n",       /* no '=' */
      "6 =bc\n",        /* empty key */
      "x a=b\n",        /* length not a number */
      "12345678 a=b\n", /* too many length digits */
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    cf_buf bytes;
    cf_buf_init(&bytes, SIZE_MAX);
    tar_pax(&bytes, 'x', bad[i]);
    tar_file(&bytes, "Files/a", "");
    expect_tar_error(&bytes, CF_E_INVALID, "PAX");
  }
}

static void tar_base256_sizes(void **state)
{
  /* Base-256 size fields: 0x80 marks the form, 0xff a negative number. */
  static const unsigned char negative[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
  static const unsigned char overflow[12] = {0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0};
  static const unsigned char valid[12] = {0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
  const unsigned char *fields[] = {negative, overflow, valid};
  for (size_t i = 0; i < COUNT(fields); i++) {
    cf_buf bytes;
    cf_buf_init(&bytes, SIZE_MAX);
    tar_header(&bytes, "Files/a", '0', 0, NULL);
    unsigned char *h = (unsigned char *)bytes.data;
    memcpy(h + 124, fields[i], 12);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t j = 0; j < 512; j++) {
      sum += h[j];
    }
    snprintf((char *)h + 148, 8, "%06o", sum);
    tar_data(&bytes, "abc", 3);
    tar_end(&bytes);
    if (fields[i] != valid) {
      expect_tar_error(&bytes, CF_E_INVALID, "size is negative, overflows");
      continue;
    }
    tar_fixture f = {.bytes = bytes};
    tar_open(&f, 4096);
    const cf_wintar_entry *entry = NULL;
    assert_int_equal(cf_wintar_next(f.tar, &entry, NULL), 1);
    assert_int_equal(entry->size, 3);
    tar_close(&f);
  }
}

static void tar_bad_pax_size(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_pax(&bytes, 'x', "8 size=\n");
  tar_pax(&bytes, 'x', "11 size=-1\n");
  tar_file(&bytes, "Files/a", "");
  expect_tar_error(&bytes, CF_E_INVALID, "PAX size");
}

static void tar_zero_block_then_header(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  static const char zero[512];
  cf_buf_append(&bytes, zero, sizeof(zero), NULL);
  tar_file(&bytes, "Files/a", "");
  expect_tar_error(&bytes, CF_E_INVALID, "single zero block");
}

static void tar_meta_without_entry(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_pax(&bytes, 'x', "25 MSWINDOWS.fileattr=32\n");
  expect_tar_error(&bytes, CF_E_INVALID, "no entry");
}

/* --- Import loop --- */

typedef struct recording_sink {
  cf_buf log;    /* one line per call */
  cf_buf stream; /* backup stream bytes of the last entry */
  cf_win_basic_info last_info;
} recording_sink;

static int rec_begin(void *context, const cf_win_layer_entry *entry, cf_err **err)
{
  recording_sink *sink = context;
  static const char *const kinds[] = {"file", "dir", "symlink", "hardlink", "whiteout", "opaque"};
  cf_buf_printf(&sink->log, NULL, "begin %s %s%s%s\n", kinds[entry->kind], entry->path,
                entry->bcd_backup != NULL ? " bcd=" : "",
                entry->bcd_backup != NULL ? entry->bcd_backup : "");
  cf_buf_reset(&sink->stream);
  sink->last_info = entry->info;
  return 0;
}

static int rec_write(void *context, const void *data, size_t len, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_append(&sink->stream, data, len, err);
}

static int rec_end(void *context, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_append_str(&sink->log, "end\n", err);
}

static int rec_link(void *context, const char *path, const char *target, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_printf(&sink->log, err, "link %s -> %s\n", path, target);
}

static int rec_remove(void *context, const char *path, bool opaque, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_printf(&sink->log, err, "%s %s\n", opaque ? "opaque" : "remove", path);
}

static const cf_win_layer_sink recording = {rec_begin, rec_write,  rec_end,
                                            rec_link,  rec_remove, NULL};

static int run_import(cf_buf *bytes, bool base, recording_sink *sink, uint64_t *size, cf_err **err)
{
  cf_buf_init(&sink->log, SIZE_MAX);
  cf_buf_init(&sink->stream, SIZE_MAX);
  mem_reader reader = {bytes->data, bytes->len, 0, 333};
  cf_wintar *tar = cf_wintar_new(mem_read, &reader);
  int rc = cf_win_layer_import_tar(tar, base, &recording, sink, size, err);
  cf_wintar_free(tar);
  cf_buf_free(bytes);
  return rc;
}

static void sink_free(recording_sink *sink)
{
  cf_buf_free(&sink->log);
  cf_buf_free(&sink->stream);
}

static void import_file_with_streams(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_pax(&bytes, 'x', "25 MSWINDOWS.fileattr=16\n");
  tar_header(&bytes, "Files", '5', 0, NULL);
  /* rawsd "AQAEgA==" is the bytes 01 00 04 80; EA "user.x" = "hi"
   * ("aGk="); creation time 1.5 s after the epoch. */
  tar_pax(&bytes, 'x',
          "25 MSWINDOWS.fileattr=32\n28 MSWINDOWS.rawsd=AQAEgA==\n"
          "31 MSWINDOWS.xattr.user.x=aGk=\n31 LIBARCHIVE.creationtime=1.5\n");
  tar_file(&bytes, "Files/a.txt", "DATA");
  tar_file(&bytes, "Files/a.txt:s", "xy");
  tar_file(&bytes, "Files/b", "123");
  tar_end(&bytes);
  recording_sink sink;
  uint64_t size = 0;
  assert_int_equal(run_import(&bytes, false, &sink, &size, NULL), 0);
  assert_string_equal(sink.log.data, "begin dir Files\nend\n"
                                     "begin file Files\\a.txt\nend\n"
                                     "begin file Files\\b\nend\n");
  /* Only regular file data counts: 4 + 3 bytes; the stream does not. */
  assert_int_equal(size, 7);
  /* Files/b: a BACKUP_DATA header (id 1, size 3) and the data. */
  static const unsigned char b_stream[] = {1, 0, 0, 0, 0, 0, 0, 0, 3,   0,   0,  0,
                                           0, 0, 0, 0, 0, 0, 0, 0, '1', '2', '3'};
  assert_bytes(sink.stream.data, sink.stream.len, b_stream, sizeof(b_stream));
  sink_free(&sink);
}

static void import_backup_stream_bytes(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_pax(&bytes, 'x',
          "25 MSWINDOWS.fileattr=32\n28 MSWINDOWS.rawsd=AQAEgA==\n"
          "31 MSWINDOWS.xattr.user.x=aGk=\n31 LIBARCHIVE.creationtime=1.5\n");
  tar_file(&bytes, "Files/a.txt", "DATA");
  tar_file(&bytes, "Files/a.txt:s", "xy");
  tar_end(&bytes);
  recording_sink sink;
  uint64_t size = 0;
  assert_int_equal(run_import(&bytes, false, &sink, &size, NULL), 0);
  static const unsigned char expected[] = {
      /* BACKUP_SECURITY_DATA (3), 4 bytes: the decoded rawsd */
      3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x04, 0x80,
      /* BACKUP_EA_DATA (2), 20 bytes: one FILE_FULL_EA_INFORMATION,
       * 8 + "user.x\0" (7) + "hi" (2) = 17, padded to 20 */
      2, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* header */
      0, 0, 0, 0, 0, 6, 2, 0, 'u', 's', 'e', 'r', '.', 'x', 0, 'h', 'i', 0, 0, 0,
      /* BACKUP_DATA (1), 4 bytes */
      1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'D', 'A', 'T', 'A',
      /* BACKUP_ALTERNATE_DATA (4), 2 bytes, name ":s:$DATA" (16 bytes) */
      4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, ':', 0, 's', 0, ':', 0, '$', 0,
      'D', 0, 'A', 0, 'T', 0, 'A', 0, 'x', 'y'};
  assert_bytes(sink.stream.data, sink.stream.len, expected, sizeof(expected));
  assert_int_equal(sink.last_info.attributes, 32);
  assert_true(sink.last_info.creation_time == 116444736015000000ll);
  /* No PAX mtime: the ustar mtime 1600000000 s. */
  assert_true(sink.last_info.last_write_time == 132444736000000000ll);
  assert_true(sink.last_info.last_access_time == 132444736000000000ll);
  sink_free(&sink);
}

static void import_symlink_and_junction(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_pax(&bytes, 'x', "27 MSWINDOWS.fileattr=1040\n26 MSWINDOWS.mountpoint=1\n");
  tar_header(&bytes, "Files/j", '2', 0, "C:/x");
  tar_header(&bytes, "Files/s", '2', 0, "a/b");
  tar_end(&bytes);
  recording_sink sink;
  uint64_t size = 0;
  assert_int_equal(run_import(&bytes, false, &sink, &size, NULL), 0);
  /* 1040 = FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT. */
  assert_string_equal(sink.log.data, "begin dir Files\\j\nend\nbegin symlink Files\\s\nend\n");
  /* Files/s: BACKUP_REPARSE_DATA (8) with 36 bytes of relative "a\b". */
  static const unsigned char expected[] = {
      8, 0,    0,    0,    0,    0,  0,   0, 36, 0, 0,   0, 0,    0, 0,   0, 0, 0, 0,
      0, 0x0c, 0x00, 0x00, 0xa0, 28, 0,   0, 0,  0, 0,   6, 0,    8, 0,   6, 0, 1, 0,
      0, 0,    'a',  0,    '\\', 0,  'b', 0, 0,  0, 'a', 0, '\\', 0, 'b', 0, 0, 0};
  assert_bytes(sink.stream.data, sink.stream.len, expected, sizeof(expected));
  sink_free(&sink);
}

static void import_links_and_whiteouts(void **state)
{
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Files/l", '1', 0, "Files/t");
  tar_header(&bytes, "Files/dir/.wh.gone", '0', 0, NULL);
  tar_header(&bytes, "Files/dir/.wh..wh..opq", '0', 0, NULL);
  tar_end(&bytes);
  recording_sink sink;
  uint64_t size = 0;
  assert_int_equal(run_import(&bytes, false, &sink, &size, NULL), 0);
  assert_string_equal(sink.log.data, "link Files\\l -> Files\\t\n"
                                     "remove Files\\dir\\gone\n"
                                     "opaque Files\\dir\n");
  sink_free(&sink);
}

static void import_base_layer_rules(void **state)
{
  /* A base layer ignores opaque markers and rejects whiteouts. */
  cf_buf bytes;
  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Files/dir/.wh..wh..opq", '0', 0, NULL);
  tar_header(&bytes, "UtilityVM/Files/EFI/Microsoft/Boot/BCD", '0', 0, NULL);
  tar_end(&bytes);
  recording_sink sink;
  uint64_t size = 0;
  assert_int_equal(run_import(&bytes, true, &sink, &size, NULL), 0);
  assert_string_equal(sink.log.data,
                      "begin file UtilityVM\\Files\\EFI\\Microsoft\\Boot\\BCD bcd=bcd.bak\nend\n");
  sink_free(&sink);

  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Files/.wh.x", '0', 0, NULL);
  tar_end(&bytes);
  cf_err *err = NULL;
  assert_int_equal(run_import(&bytes, true, &sink, &size, &err), -1);
  assert_error(err, CF_E_INVALID, "base layer cannot have whiteouts");
  cf_err_free(err);
  sink_free(&sink);
}

/* Imports a tar of one bad entry (plus setup) and expects an error. */
static void expect_import_error(cf_buf *bytes, bool base, enum cf_code code, const char *part)
{
  recording_sink sink;
  uint64_t size = 0;
  cf_err *err = NULL;
  assert_int_equal(run_import(bytes, base, &sink, &size, &err), -1);
  assert_error(err, code, part);
  cf_err_free(err);
  sink_free(&sink);
}

static void import_rejects(void **state)
{
  cf_buf bytes;

  cf_buf_init(&bytes, SIZE_MAX);
  tar_file(&bytes, "Files/x:orphan", "a"); /* a stream without its file */
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "alternate data stream");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_file(&bytes, "Files/a", "a");
  tar_file(&bytes, "Files/a:bad:name", "b");
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "alternate data stream name");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Files/d", '5', 0, NULL);
  tar_pax(&bytes, 'x', "25 MSWINDOWS.fileattr=32\n");
  tar_header(&bytes, "Files/e", '5', 0, NULL);
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "lacks FILE_ATTRIBUTE_DIRECTORY");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Files/fifo", '6', 0, NULL);
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "type '6' is not supported");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "UtilityVM/Files/x", '0', 0, NULL);
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_NOT_IMPLEMENTED, "UtilityVM");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Hives/.wh.SOFTWARE", '0', 0, NULL);
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "only allowed under Files");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Files/a.$WCIDIRS$", '0', 0, NULL);
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "reserved");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_header(&bytes, "Hives/l", '1', 0, "Files/t");
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "hard link");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_pax(&bytes, 'x', "21 MSWINDOWS.sd=O:BA\n");
  tar_file(&bytes, "Files/a", "a");
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_NOT_IMPLEMENTED, "SDDL");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_pax(&bytes, 'x', "24 MSWINDOWS.rawsd=AQ=A\n");
  tar_file(&bytes, "Files/a", "a");
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "MSWINDOWS.rawsd");

  cf_buf_init(&bytes, SIZE_MAX);
  tar_file(&bytes, "../a", "a");
  tar_end(&bytes);
  expect_import_error(&bytes, false, CF_E_INVALID, "\"..\"");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(attributes_parse),
      cmocka_unit_test(base64_valid),
      cmocka_unit_test(base64_strict),
      cmocka_unit_test(base64_limit),
      cmocka_unit_test(pax_time_values),
      cmocka_unit_test(pax_time_invalid),
      cmocka_unit_test(utf16le_encoding),
      cmocka_unit_test(backup_header_data),
      cmocka_unit_test(backup_header_stream_name),
      cmocka_unit_test(ea_buffer_two_entries),
      cmocka_unit_test(ea_buffer_limits),
      cmocka_unit_test(reparse_relative_symlink),
      cmocka_unit_test(reparse_absolute_symlink),
      cmocka_unit_test(reparse_junction),
      cmocka_unit_test(reparse_nt_prefixes),
      cmocka_unit_test(reparse_invalid),
      cmocka_unit_test(bcd_backup_names),
      cmocka_unit_test(size_file_values),
      cmocka_unit_test(os_version_string),
      cmocka_unit_test(path_set_nocase),
      cmocka_unit_test(tar_pax_records),
      cmocka_unit_test(tar_names_and_sizes),
      cmocka_unit_test(tar_truncated),
      cmocka_unit_test(tar_bad_checksum),
      cmocka_unit_test(tar_oversize_pax),
      cmocka_unit_test(tar_bad_pax_records),
      cmocka_unit_test(tar_base256_sizes),
      cmocka_unit_test(tar_bad_pax_size),
      cmocka_unit_test(tar_zero_block_then_header),
      cmocka_unit_test(tar_meta_without_entry),
      cmocka_unit_test(import_file_with_streams),
      cmocka_unit_test(import_backup_stream_bytes),
      cmocka_unit_test(import_symlink_and_junction),
      cmocka_unit_test(import_links_and_whiteouts),
      cmocka_unit_test(import_base_layer_rules),
      cmocka_unit_test(import_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
