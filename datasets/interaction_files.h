// datasets/interaction_files.h: readers for the two files of user-item
// interactions that CosRec and Caser (thesis section 4.1) train on, each
// turned into (user, item, time) records in file order:
//
//   MovieLens-1M ratings.dat (https://grouplens.org/datasets/movielens/1m/)
//     UserID::MovieID::Rating::Timestamp          e.g. 1::1193::5::978300760
//     four unsigned decimal integers separated by "::"; Rating 1 to 5;
//     Timestamp in seconds since 1970-01-01 UTC. The rating is checked and
//     dropped: sequential recommendation treats every rating as implicit
//     feedback ("the user interacted with the item").
//
//   Gowalla check-ins, SNAP's loc-gowalla_totalCheckins.txt
//   (https://snap.stanford.edu/data/loc-gowalla.html)
//     user<TAB>check-in time<TAB>latitude<TAB>longitude<TAB>location id
//     e.g. 0	2010-10-19T23:55:27Z	30.2359091167	-97.7951395833	22847
//     user and location id unsigned decimal integers; the time exactly
//     YYYY-MM-DDTHH:MM:SSZ (UTC), turned into seconds since 1970; latitude
//     and longitude decimal numbers ([-]digits[.digits]), checked for their
//     form only, since nothing here uses them (a range check could refuse a
//     real file over a value nobody reads). The item is the location id.
//
// Both: lines end with "\n" ("\r\n" is accepted too); the last line may
// lack its "\n"; every other line, blank ones included, must be a record.
// A line that is not is an error, never skipped: a nova::Error
//   movielens: ratings.dat: line 12 (byte 345): expected 4 fields separated by '::', got 3
// naming the file, the line (from 1) and the byte offset (from 0, of the
// offending field where there is one, else of the line). Field text in a
// message is quoted with unprintable bytes escaped and cut at 32 bytes, so a
// binary file gives a readable refusal. An input with no records at all is
// refused too (an empty download is a mistake worth naming).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nova::datasets {

/// One interaction as the file states it: the file's own ids, not yet
/// filtered or renumbered (datasets/sequential_recommendation.h does that).
struct Interaction {
  int64_t user;  ///< the file's user id (MovieLens UserID, Gowalla user)
  int64_t item;  ///< the file's item id (MovieLens MovieID, Gowalla location id)
  int64_t time;  ///< seconds since 1970-01-01 00:00:00 UTC

  bool operator==(const Interaction& o) const {
    return user == o.user && item == o.item && time == o.time;
  }
};

/// The records of a MovieLens-1M ratings.dat held in memory (`size` bytes at
/// `data`), in file order. `name` follows "movielens: " in every message.
/// Throws nova::Error "movielens: <name>: line N (byte B): ..." for a line
/// without exactly 4 fields, a field that is not an unsigned decimal integer
/// (or overflows int64), a rating outside 1..5, or an input with no lines.
std::vector<Interaction> parse_movielens_ratings(const uint8_t* data, size_t size,
                                                 const std::string& name);

/// parse_movielens_ratings over the file at `path` (named by its path in
/// messages); also throws "movielens: <path>: cannot open: ..." and the like.
std::vector<Interaction> read_movielens_ratings(const std::string& path);

/// The records of a Gowalla check-ins file held in memory, in file order
/// (SNAP's file lists each user's check-ins newest first;
/// sequential_recommendation.h orders them by time). Throws nova::Error
/// "gowalla: <name>: line N (byte B): ..." for a line without exactly 5
/// tab-separated fields, a user or location id that is not an unsigned
/// decimal integer, a time not of the form YYYY-MM-DDTHH:MM:SSZ or not a
/// real date and time (month 13, February 30, hour 24, ...), a coordinate
/// not of the form [-]digits[.digits], or an input with no lines.
std::vector<Interaction> parse_gowalla_checkins(const uint8_t* data, size_t size,
                                                const std::string& name);

/// parse_gowalla_checkins over the file at `path`.
std::vector<Interaction> read_gowalla_checkins(const std::string& path);

}  // namespace nova::datasets
