# One warning policy for the project's own targets (not generated code):
# -Wall -Wextra everywhere, and -Werror with -DCUTOVER_WERROR=ON (CI's
# setting, so a warning cannot land). Designated initializers that leave
# defaulted members out are an idiom here, not a mistake, so GCC's
# missing-field-initializers is off.
option(CUTOVER_WERROR "Treat compiler warnings as errors" OFF)

function(cutover_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-missing-field-initializers
    $<$<BOOL:${CUTOVER_WERROR}>:-Werror>)
endfunction()
