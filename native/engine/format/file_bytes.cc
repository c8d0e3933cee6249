// FileBytes (declared in ggml_file.h): the bytes of a model file, either a
// read-only memory mapping of the file or a buffer the object owns; and
// FileReader, positioned reads of a file kept open after its mapping is gone.
//
// Mapping rather than reading means the 75 MB (tiny) to 3 GB (large) of
// weights cost no copy at load, and pages that have been packed for the
// kernels can be handed back to the OS with release_range(). The file stays
// open beside its mapping so that a FileReader can take it over (and tell
// whether it was modified since). This file knows nothing about the ggml
// format; ggml_file.cc parses the bytes.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "engine/core/error.h"
#include "engine/format/ggml_file.h"

#ifdef _WIN32
#include "engine/core/windows_api.h"
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace wn {

namespace {

[[noreturn]] void throw_empty(const std::string& path) {
  throw Error(ErrorCode::kModelTruncated,
              "model file '" + path +
                  "' is empty (0 bytes); a ggml Whisper model starts with "
                  "the magic 0x67676d6c");
}

#ifdef _WIN32

// Paths arrive as UTF-8 (from JavaScript); Windows wants UTF-16.
std::wstring utf8_to_wide(const std::string& path) {
  if (path.empty()) return std::wstring();
  const int n =
      MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(), (int)path.size(), nullptr, 0);
  if (n <= 0) {
    throw Error(ErrorCode::kModelNotFound, "model path '" + path + "' is not valid UTF-8");
  }
  std::wstring wide((size_t)n, L'\0');
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(), (int)path.size(), &wide[0], n);
  return wide;
}

std::string last_error_text() {
  return "Windows error " + std::to_string((unsigned long)GetLastError());
}

bool read_identity(HANDLE file, FileBytes::Identity* identity) {
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(file, &info)) return false;
  identity->size = ((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow;
  // 100 ns ticks since 1601.
  const uint64_t ticks =
      ((uint64_t)info.ftLastWriteTime.dwHighDateTime << 32) | info.ftLastWriteTime.dwLowDateTime;
  identity->modified_seconds = (int64_t)(ticks / 10000000);
  identity->modified_nanoseconds = (int64_t)(ticks % 10000000) * 100;
  return true;
}

// Maps the whole file read-only. The view keeps the mapping alive, so the
// mapping handle is closed before returning; the file handle is kept (*file)
// for a FileReader. FILE_SHARE_DELETE: the file may be renamed over or
// deleted while mapped (the view keeps the old contents).
const uint8_t* map_whole_file(const std::string& path, size_t* size, intptr_t* file_out,
                              FileBytes::Identity* identity) {
  HANDLE file =
      CreateFileW(utf8_to_wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE,
                  nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    throw Error(ErrorCode::kModelNotFound,
                "cannot open model file '" + path + "': " + last_error_text());
  }
  // A pipe or a device (\\.\pipe\..., CON): refused as on POSIX.
  if (GetFileType(file) != FILE_TYPE_DISK) {
    CloseHandle(file);
    throw Error(ErrorCode::kModelNotFound, "model path '" + path + "' is not a regular file");
  }
  if (!read_identity(file, identity)) {
    const std::string why = last_error_text();
    CloseHandle(file);
    throw Error(ErrorCode::kModelNotFound, "cannot read the size of '" + path + "': " + why);
  }
  if (identity->size == 0) {
    CloseHandle(file);
    throw_empty(path);
  }
  if ((unsigned long long)identity->size > (unsigned long long)SIZE_MAX) {
    CloseHandle(file);
    throw Error(ErrorCode::kOutOfMemory, "model file '" + path + "' is too large to map");
  }
  HANDLE mapping = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
  if (mapping == nullptr) {
    const std::string why = last_error_text();
    CloseHandle(file);
    throw Error(ErrorCode::kModelNotFound, "cannot map '" + path + "': " + why);
  }
  void* view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
  const std::string why = view ? std::string() : last_error_text();
  CloseHandle(mapping);
  if (view == nullptr) {
    CloseHandle(file);
    throw Error(ErrorCode::kModelNotFound, "cannot map '" + path + "': " + why);
  }
  *size = (size_t)identity->size;
  *file_out = (intptr_t)file;
  return static_cast<const uint8_t*>(view);
}

void close_file(intptr_t file) {
  CloseHandle((HANDLE)file);
}

intptr_t duplicate_file(intptr_t file) {
  HANDLE copy = nullptr;
  if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)file, GetCurrentProcess(), &copy, 0, FALSE,
                       DUPLICATE_SAME_ACCESS)) {
    return -1;
  }
  return (intptr_t)copy;
}

// A synchronous handle read at an explicit offset; short only at the end of
// the file (ReadFile then fails with ERROR_HANDLE_EOF or reads fewer bytes).
bool read_file_at(intptr_t file, uint64_t offset, uint8_t* out, size_t n) {
  while (n > 0) {
    const DWORD chunk = (DWORD)(n < (size_t{1} << 30) ? n : (size_t{1} << 30));
    OVERLAPPED at = {};
    at.Offset = (DWORD)(offset & 0xffffffffu);
    at.OffsetHigh = (DWORD)(offset >> 32);
    DWORD got = 0;
    if (!ReadFile((HANDLE)file, out, chunk, &got, &at) || got == 0) return false;
    out += got;
    offset += got;
    n -= got;
  }
  return true;
}

bool identity_of(intptr_t file, FileBytes::Identity* identity) {
  return read_identity((HANDLE)file, identity);
}

#else  // POSIX

std::string errno_text(int err) {
  return std::strerror(err);
}

bool read_identity(int fd, FileBytes::Identity* identity) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  identity->size = (uint64_t)st.st_size;
#if defined(__APPLE__)
  identity->modified_seconds = (int64_t)st.st_mtimespec.tv_sec;
  identity->modified_nanoseconds = (int64_t)st.st_mtimespec.tv_nsec;
#else
  identity->modified_seconds = (int64_t)st.st_mtim.tv_sec;
  identity->modified_nanoseconds = (int64_t)st.st_mtim.tv_nsec;
#endif
  return true;
}

// Maps the whole file read-only and private. The descriptor is kept (*file)
// for a FileReader; the mapping itself does not need it.
const uint8_t* map_whole_file(const std::string& path, size_t* size, intptr_t* file,
                              FileBytes::Identity* identity) {
  // O_NONBLOCK: opening a FIFO for reading blocks until a writer opens it
  // (forever, for a path given by mistake); it is refused below as any other
  // file that is not a regular one, and the flag cleared for a regular file.
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    throw Error(ErrorCode::kModelNotFound,
                "cannot open model file '" + path + "': " + errno_text(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !read_identity(fd, identity)) {
    const int err = errno;
    ::close(fd);
    throw Error(ErrorCode::kModelNotFound, "cannot stat '" + path + "': " + errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorCode::kModelNotFound, "model path '" + path + "' is not a regular file");
  }
  // Blocking again: a FileReader's reads share this open file's flags.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags == -1 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
    const int err = errno;
    ::close(fd);
    throw Error(ErrorCode::kModelNotFound,
                "cannot open model file '" + path + "': " + errno_text(err));
  }
  if (st.st_size == 0) {
    ::close(fd);
    throw_empty(path);
  }
  if ((unsigned long long)st.st_size > (unsigned long long)SIZE_MAX) {
    ::close(fd);
    throw Error(ErrorCode::kOutOfMemory, "model file '" + path + "' is too large to map");
  }
  const size_t length = (size_t)st.st_size;
  void* addr = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  if (addr == MAP_FAILED) {
    ::close(fd);
    throw Error(ErrorCode::kModelNotFound, "cannot map '" + path + "': " + errno_text(err));
  }
  *size = length;
  *file = fd;
  return static_cast<const uint8_t*>(addr);
}

void close_file(intptr_t file) {
  ::close((int)file);
}

intptr_t duplicate_file(intptr_t file) {
  return ::fcntl((int)file, F_DUPFD_CLOEXEC, 0);
}

bool read_file_at(intptr_t file, uint64_t offset, uint8_t* out, size_t n) {
  while (n > 0) {
    const size_t chunk = n < (size_t{1} << 30) ? n : (size_t{1} << 30);
    const ssize_t got = ::pread((int)file, out, chunk, (off_t)offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;  // an error, or the end of the file
    out += got;
    offset += (uint64_t)got;
    n -= (size_t)got;
  }
  return true;
}

bool identity_of(intptr_t file, FileBytes::Identity* identity) {
  return read_identity((int)file, identity);
}

#endif

}  // namespace

std::shared_ptr<FileBytes> FileBytes::map_file(const std::string& path) {
  size_t size = 0;
  intptr_t file = -1;
  Identity identity;
  const uint8_t* data = map_whole_file(path, &size, &file, &identity);
  std::shared_ptr<FileBytes> bytes(new FileBytes());
  bytes->data_ = data;
  bytes->size_ = size;
  bytes->mapped_ = true;
  bytes->path_ = path;
  bytes->file_ = file;
  bytes->identity_ = identity;
  return bytes;
}

std::shared_ptr<FileBytes> FileBytes::from_buffer(std::vector<uint8_t> buffer) {
  std::shared_ptr<FileBytes> bytes(new FileBytes());
  bytes->owned_ = std::move(buffer);
  bytes->data_ = bytes->owned_.data();
  bytes->size_ = bytes->owned_.size();
  return bytes;
}

FileBytes::~FileBytes() {
  if (!mapped_) return;
#ifdef _WIN32
  UnmapViewOfFile(data_);
#else
  ::munmap(const_cast<uint8_t*>(data_), size_);
#endif
  close_file(file_);
}

void FileBytes::release_range(const void* begin, size_t length) const {
  if (!mapped_ || length == 0) return;
  const uintptr_t file_begin = reinterpret_cast<uintptr_t>(data_);
  const uintptr_t file_end = file_begin + size_;
  uintptr_t lo = reinterpret_cast<uintptr_t>(begin);
  uintptr_t hi = lo + length;
  if (lo < file_begin) lo = file_begin;
  if (hi > file_end || hi < lo) hi = file_end;
#ifdef _WIN32
  SYSTEM_INFO system;
  GetSystemInfo(&system);
  const uintptr_t page = (uintptr_t)system.dwPageSize;
  // Only whole pages inside the range.
  lo = (lo + page - 1) / page * page;
  hi = hi / page * page;
  if (lo >= hi) return;
  // Advice only: a read-only view's pages cannot be discarded, but
  // VirtualUnlock on pages that are not locked removes them from the working
  // set (documented; it then fails with ERROR_NOT_LOCKED). They stay in the
  // file cache's standby list. Not built or run here: Windows builds come
  // from CI.
  (void)VirtualUnlock(reinterpret_cast<void*>(lo), (SIZE_T)(hi - lo));
#else
  // Out to the 2 MiB boundaries around the range, the pages of neighbouring
  // tensors included. Why: Linux maps a file's large folios (up to 2 MiB of
  // page cache, as a big write leaves them, e.g. a model just downloaded)
  // whole when one of their pages faults, so reading a 1.5 KB bias mapped 2
  // MiB, and reading a tensor re-mapped the released neighbours in its
  // folios. Releasing only the pages inside each range left those mapped
  // until the load ended: with such a file, a load peaked at 143.6 MB in a
  // Node process where the same model read from older page cache peaks at
  // 125. Dropping pages another job is still reading is safe: the mapping is
  // read-only and private, so a dropped page faults in again from the page
  // cache, the same bytes.
  // Folios sit at multiples of their size in the file, so the boundaries
  // are file offsets (the mapping starts at offset 0, on a page boundary).
  constexpr uintptr_t kFolioWindow = kReleaseWindow;
  const uintptr_t page = (uintptr_t)::sysconf(_SC_PAGESIZE);
  const uintptr_t last_page = file_end / page * page;
  lo = file_begin + (lo - file_begin) / kFolioWindow * kFolioWindow;
  hi = std::min(last_page,
                file_begin + (hi - file_begin + kFolioWindow - 1) / kFolioWindow * kFolioWindow);
  if (lo >= hi) return;
  // Advice only: if the OS declines, the pages just stay resident.
  (void)::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
#endif
}

std::unique_ptr<FileReader> FileReader::open(std::shared_ptr<const FileBytes> bytes) {
  if (bytes == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "FileReader::open: no file");
  }
  std::unique_ptr<FileReader> reader(new FileReader());
  reader->path_ = bytes->path();
  if (!bytes->mapped_) {
    reader->buffer_ = std::move(bytes);
    return reader;
  }
  reader->file_ = duplicate_file(bytes->file_);
  if (reader->file_ == -1) {
    throw Error(ErrorCode::kModelNotFound,
                "cannot keep model file '" + bytes->path() + "' open for reading");
  }
  reader->identity_ = bytes->identity_;
  return reader;
}

FileReader::~FileReader() {
  if (file_ != -1) close_file(file_);
}

bool FileReader::read_at(uint64_t offset, void* dst, size_t n) const {
  if (buffer_ != nullptr) {
    if (offset > buffer_->size() || n > buffer_->size() - offset) return false;
    if (n > 0) std::memcpy(dst, buffer_->data() + offset, n);
    return true;
  }
  return read_file_at(file_, offset, static_cast<uint8_t*>(dst), n);
}

bool FileReader::unchanged_on_disk() const {
  if (buffer_ != nullptr) return true;
  FileBytes::Identity now;
  return identity_of(file_, &now) && now == identity_;
}

}  // namespace wn
