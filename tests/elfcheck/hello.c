/* hello.c - the program test_elfcheck builds in two refused forms: linked -static, and with a
 * Go section (.go.buildinfo) added by objcopy. Its own behaviour does not matter; the checker
 * never runs it. */
#include <stdio.h>

int main(void)
{
    puts("hello");
    return 0;
}
