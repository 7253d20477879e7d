# Build facts that `cfwin version` prints: the git commit at configure time
# and the build flags. cfwin_version_definitions(SOURCE) attaches them to the
# one source file that prints them, so a new commit recompiles only that file.
# ROOT is the source tree whose git commit is recorded.
#
# Callers set CFWIN_VERSION_STATIC and CFWIN_VERSION_SANITIZERS (a comma
# list, empty for none) before calling.

function(cfwin_git_commit root out)
  set(commit "unknown")
  find_package(Git QUIET)
  if(GIT_FOUND AND EXISTS "${root}/.git")
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${root} rev-parse --short=12 HEAD
      OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE head_result
      ERROR_QUIET)
    if(head_result EQUAL 0 AND head)
      set(commit ${head})
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${root} status --porcelain
        --untracked-files=no OUTPUT_VARIABLE changes ERROR_QUIET)
      if(changes)
        set(commit "${commit}-dirty")
      endif()
    endif()
  endif()
  set(${out} ${commit} PARENT_SCOPE)
endfunction()

function(cfwin_version_definitions source root)
  cfwin_git_commit(${root} commit)
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}-${CMAKE_SYSTEM_NAME}" target)
  if(CFWIN_VERSION_STATIC)
    set(static 1)
  else()
    set(static 0)
  endif()
  set_source_files_properties(${source} PROPERTIES COMPILE_DEFINITIONS
    "CFWIN_COMMIT=\"${commit}\";CFWIN_BUILD_TARGET=\"${target}\";CFWIN_BUILD_STATIC=${static};CFWIN_BUILD_SANITIZERS=\"${CFWIN_VERSION_SANITIZERS}\";CFWIN_BUILD_TYPE=\"${CMAKE_BUILD_TYPE}\";CFWIN_BUILD_COMPILER=\"${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION}\"")
  message(STATUS "cfwin version: commit ${commit}, target ${target}, static ${static}")
endfunction()
