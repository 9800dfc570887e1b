// Draws the account page's traffic chart with the vendored uPlot; the page reads without it (numbers are in the text).
(function () {
    "use strict";
    function numbers(el, name) {
        var raw = el.getAttribute(name);
        return raw ? raw.split(",").map(Number) : [];
    }

    document.querySelectorAll(".chart[data-x]").forEach(function (el) {
        var x = numbers(el, "data-x");
        if (x.length === 0 || typeof uPlot === "undefined") {
            return;
        }

        var options = {
            width: Math.min(el.clientWidth || 800, 960),
            height: 240,
            scales: { x: { time: true }, tokens: {} },
            series: [
                {},
                { label: "requests", stroke: "#0b5cad", width: 2, scale: "y" },
                { label: "tokens out", stroke: "#a1161b", width: 2, scale: "tokens" },
                { label: "tokens in", stroke: "#1f6b36", width: 1, dash: [6, 4], scale: "tokens" }
            ],
            axes: [
                {},
                { scale: "y", label: "requests per " + el.getAttribute("data-bucket") },
                { scale: "tokens", side: 1, label: "tokens", grid: { show: false } }
            ]
        };
        el.setAttribute("data-rendered", "uplot");
        new uPlot(options, [x, numbers(el, "data-requests"), numbers(el, "data-tokens-out"), numbers(el, "data-tokens-in")], el);
    });
})();
