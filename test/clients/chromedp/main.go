// A chromedp client with its default remote allocator: given a BrowserGrid URL, it opens a
// tab, loads the page given as the second argument and prints its title. Run by
// test/e2e/client-url-forms.e2e.test.ts.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: chromedp-client <browser url> <page url>")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := remote.NewAllocator(ctx, os.Args[1])
	defer cancelAlloc()
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if _, err := chromedp.Run(tabCtx, chromedp.Navigate(os.Args[2])); err != nil {
		fmt.Fprintln(os.Stderr, "navigate:", err)
		os.Exit(1)
	}
	title, err := chromedp.Run(tabCtx, chromedp.Title())
	if err != nil {
		fmt.Fprintln(os.Stderr, "title:", err)
		os.Exit(1)
	}
	fmt.Println(title)
}
